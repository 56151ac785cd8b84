"""What ESS says of itself names only the services it has a target for.

The help text, the MCP server's instructions and the package description are what a customer
reads first; a service named there must have a target installed (an ``ess.targets`` entry point).
"""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from server.app import INSTRUCTIONS

ROOT = Path(__file__).resolve().parents[1]

SERVICES = {
    "Microsoft 365": "microsoft",
    "Google Workspace": "google",
    "Google Classroom": "google",
    "SCIM": "scim",
    "School Data Sync": "sds",
}


def _texts() -> dict[str, str]:
    help_text = CliRunner().invoke(app, ["--help"]).output
    description = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "description"
    ]
    return {"ess --help": help_text, "MCP instructions": INSTRUCTIONS, "description": description}


@pytest.mark.parametrize("where", ["ess --help", "MCP instructions", "description"])
def test_every_service_named_has_a_target(where: str) -> None:
    installed = {ep.name for ep in entry_points(group="ess.targets")}
    text = " ".join(_texts()[where].split())
    promised = {name: target for name, target in SERVICES.items() if name in text}
    assert promised, f"{where} names no service at all"
    missing = {name for name, target in promised.items() if target not in installed}
    assert not missing, f"{where} promises {sorted(missing)}, which ESS has no target for"
