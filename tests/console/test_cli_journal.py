"""``ess journal backup`` and ``ess journal check`` on real journals: what they print and the
exit codes scripts rely on (0 done, 1 damaged, 2 a journal that cannot be used)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app
from engine.journal.upkeep import SCHEMA_VERSION
from tests.conftest import Workdir
from tests.engine.test_journal_upkeep import _empty_the_index_page

runner = CliRunner()


def ess(workdir: Workdir, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--config", str(workdir.config), *args])


def test_backup_then_check_the_copy(workdir: Workdir, tmp_path: Path) -> None:
    assert ess(workdir, "sync", "alpha").exit_code == 0
    dest = tmp_path / "nightly.db"
    done = ess(workdir, "journal", "backup", str(dest))
    assert done.exit_code == 0, done.output
    assert f"to {dest} (" in done.output and "integrity ok" in done.output
    again = ess(workdir, "journal", "backup", str(dest))
    assert again.exit_code == 2
    assert "exists; name another file, or pass --force" in again.output
    assert "Traceback" not in again.output
    forced = ess(workdir, "journal", "backup", str(dest), "--force", "--json")
    assert forced.exit_code == 0
    assert json.loads(forced.output)["path"] == str(dest)

    checked = ess(workdir, "journal", "check")
    assert checked.exit_code == 0, checked.output
    assert "integrity: ok" in checked.output
    assert f"schema: {SCHEMA_VERSION}, this ESS writes {SCHEMA_VERSION}" in checked.output
    document = json.loads(ess(workdir, "journal", "check", "--json").output)
    assert document["ok"] is True and document["integrity"] == ["ok"]


def test_check_of_a_damaged_journal_exits_1_and_lists_the_damage(workdir: Workdir) -> None:
    assert ess(workdir, "sync", "alpha").exit_code == 0
    _empty_the_index_page(workdir.journal, "runs_tenant")
    checked = ess(workdir, "journal", "check")
    assert checked.exit_code == 1
    assert "integrity: " in checked.output and "runs_tenant" in checked.output
    assert "restore the latest backup" in checked.output
    document = json.loads(ess(workdir, "journal", "check", "--json").output)
    assert document["ok"] is False


def test_a_journal_from_a_newer_ess_is_named_and_left_alone(workdir: Workdir) -> None:
    assert ess(workdir, "sync", "alpha").exit_code == 0
    conn = sqlite3.connect(workdir.journal)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    for args in (["journal", "check"], ["journal", "backup", str(workdir.path / "b.db")]):
        result = ess(workdir, *args)
        assert result.exit_code == 2, result.output
        assert "newer ESS (schema 99;" in result.output and "upgrade ESS" in result.output
        assert "Traceback" not in result.output


def test_check_without_a_journal_says_so_and_makes_none(workdir: Workdir) -> None:
    result = ess(workdir, "journal", "check")
    assert result.exit_code == 2
    assert f"there is no journal at {workdir.journal}" in result.output
    assert not workdir.journal.exists()
