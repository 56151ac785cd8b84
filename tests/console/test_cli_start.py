"""The ``ess`` command starts without the libraries only one command uses: every CLI process
(scripts call it often) would otherwise pay for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# module -> the only commands that need it
ONE_COMMAND_ONLY = {
    "procrastinate": "ess worker, ess scheduler --hosted",
    "starlette": "ess ingest",
    "uvicorn": "ess ingest",
}


def loaded_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize("module", sorted(ONE_COMMAND_ONLY))
def test_importing_the_cli_leaves_one_command_libraries_alone(module: str) -> None:
    assert module not in loaded_after("import console.cli"), ONE_COMMAND_ONLY[module]


def test_the_help_of_every_command_leaves_them_alone_too() -> None:
    code = "from typer.main import get_command\nfrom console.cli import app\nget_command(app)\n"
    assert not set(ONE_COMMAND_ONLY) & loaded_after(code)
