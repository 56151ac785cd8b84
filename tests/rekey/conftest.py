"""A municipality synced from an IMS export, and the same municipality from the SS 12000 API's
folder form with ids of its own, for the rekey tests."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEW_IDS = uuid.UUID("6f1c1d1e-0000-4000-8000-000000000017")

CONFIG = """\
[journal]
path = "ess.db"

[privacy]
civic_key = "file:civic.key"

[tenants.lovsta]
name = "Lövsta kommun"
source = {source}
{rekey}
[tenants.lovsta.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.lovsta.targets.mem]
type = "memory"
state = "target.json"
"""

IMS = '{{ type = "ims", path = "{path}" }}'
SS12000 = '{{ type = "ss12000", path = "{path}", parallel_read = false }}'


def ess(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture(scope="session")
def ims_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sample municipality as an IMS export (its SS 12000 form in ``.ss12000``)."""
    out = tmp_path_factory.mktemp("rekey") / "ims"
    code, shown = ess("sample", "generate", "--format", "ims", "--size", "40", "--out", str(out))
    assert code == 0, shown
    return out


def new_ids(text: str) -> str:
    """Every UUID replaced by another (the same one each time): a new source's own ids."""
    return UUID.sub(lambda m: str(uuid.uuid5(NEW_IDS, m.group(0))), text)


@pytest.fixture
def ss12000_copy(ims_sample: Path, tmp_path: Path) -> Callable[..., Path]:
    """The same municipality as an SS 12000 folder whose every id differs from the export's;
    ``edit`` may change the persons' JSON text first."""

    def make(edit: Callable[[str], str] = lambda t: t) -> Path:
        folder = tmp_path / "ss12000"
        shutil.copytree(ims_sample / ".ss12000", folder)
        for f in folder.glob("*.json"):
            text = new_ids(f.read_text(encoding="utf-8"))
            if f.name == "persons.json":
                text = edit(text)
            f.write_text(text, encoding="utf-8")
        return folder

    return make


def write_config(tmp_path: Path, source: str, rekey_from: str | None = None) -> Path:
    (tmp_path / "civic.key").write_text("a-civic-key-of-the-test-1234", encoding="utf-8")
    rekey = f"\n[tenants.lovsta.rekey]\nfrom = {rekey_from}\n" if rekey_from else ""
    config = tmp_path / "ess.toml"
    config.write_text(CONFIG.format(source=source, rekey=rekey), encoding="utf-8")
    return config
