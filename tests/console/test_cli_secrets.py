"""A literal secret (or a personnummer) in an adapter table is never printed or journaled.

The Microsoft target's table has a literal client_secret and certificate_password, and a
personnummer under a key the adapter does not know: `ess sync` and `ess scheduler --once`
refuse it naming the keys, and neither value appears on stdout, stderr or in the journal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.conftest import Workdir

SECRET = "SuperSecretValue123"
PASSWORD = "CertPassword456"
PNR = "200501021234"

TARGET = f"""
[tenants.alpha.targets.microsoft]
type = "microsoft"
tenant_id = "00000000-0000-0000-0000-000000000001"
client_id = "00000000-0000-0000-0000-000000000002"
domain = "alpha.example"
client_secret = "{SECRET}"
certificate_password = "{PASSWORD}"
pupil_note = "{PNR}"
"""


@pytest.fixture
def leaky(workdir: Workdir) -> Workdir:
    text = workdir.config.read_text(encoding="utf-8")
    text = text.replace("[tenants.alpha]\n", '[tenants.alpha]\nschedule = "0 3 * * *"\n')
    workdir.config.write_text(text + TARGET, encoding="utf-8")
    return workdir


def journal_text(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        rows = [*db.execute("SELECT message FROM events"), *db.execute("SELECT detail FROM audit")]
        rows += list(db.execute("SELECT COALESCE(error, '') FROM runs"))
    finally:
        db.close()
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize("command", [["sync", "alpha"], ["scheduler", "--once"]])
def test_no_secret_or_personnummer_is_echoed(leaky: Workdir, command: list[str]) -> None:
    result = CliRunner().invoke(
        app, ["--config", str(leaky.config), *command], env={"COLUMNS": "1000"}
    )
    shown = result.stdout + result.stderr
    assert result.exit_code != 0
    assert "client_secret" in shown and "certificate_password" in shown  # the keys are named
    for value in (SECRET, PASSWORD, PNR):
        assert value not in shown
        assert value not in journal_text(leaky.journal)
    assert "input_value" not in shown
