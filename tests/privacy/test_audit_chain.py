"""The audit log is a hash chain: ``ess audit verify`` finds a row that was edited, removed or
cut from the end, and against a head seen outside the host even a chain rewritten whole; ``ess
audit`` is a group, and an unknown tenant is a usage error, not an empty log."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.audit_chain import GENESIS, row_hash

COMPAT = Path(__file__).parents[1] / "compat" / "release_0_1" / "journal"
runner = CliRunner()


def ess(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "--actor", "cli:tester", *args])
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


@pytest.fixture
def install(tmp_path: Path) -> Path:
    """Release 0.1's installation, with audit rows it wrote before the log was chained, and a
    few rows more written now."""
    dest = tmp_path / "install"
    shutil.copytree(COMPAT, dest)
    config = dest / "ess.toml"
    for _ in range(3):
        assert ess(config, "audit", "head")[0] == 0
        assert ess(config, "sync", "gamma", "--dry-run")[0] in (0, 1)
    return config


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config.parent / "ess.db")


def _head(config: Path) -> str:
    code, out = ess(config, "audit", "head")
    assert code == 0, out
    return out.split()[0]  # the head on stdout; when it was last sent out on stderr


def test_an_intact_log_verifies_including_rows_from_before_the_chain(install: Path) -> None:
    with _db(install) as db:
        rows = db.execute("SELECT count(*) FROM audit").fetchone()[0]
        old = db.execute("SELECT count(*) FROM audit WHERE actor LIKE 'scenario%'").fetchone()[0]
    assert old > 0  # release 0.1 wrote these
    head = _head(install)
    code, out = ess(install, "audit", "verify", "--head", head)
    assert code == 0, out
    assert f"{rows} rows chained" in out


def test_an_edited_row_is_found(install: Path) -> None:
    with _db(install) as db:
        db.execute("UPDATE audit SET actor='someone else' WHERE id=2")
    code, out = ess(install, "audit", "verify")
    assert code == 1, out
    assert "row 2 was changed" in out


def test_a_removed_row_is_found(install: Path) -> None:
    with _db(install) as db:
        db.execute("DELETE FROM audit WHERE id=3")
    code, out = ess(install, "audit", "verify")
    assert code == 1, out
    assert "row 4 does not follow row 2" in out


def test_a_log_cut_short_is_found_against_the_head_seen_outside(install: Path) -> None:
    head = _head(install)
    last = int(head.split(":")[0])
    with _db(install) as db:
        db.execute("DELETE FROM audit WHERE id>=?", (last - 1,))
    assert ess(install, "audit", "verify")[0] == 0  # what is left is a whole chain
    code, out = ess(install, "audit", "verify", "--head", head)
    assert code == 1, out
    assert "is gone" in out


def test_a_chain_rewritten_whole_fails_against_the_head_seen_outside(install: Path) -> None:
    """Root can recompute every hash after an edit; the head kept elsewhere then differs."""
    head = _head(install)
    with _db(install) as db:
        db.execute("UPDATE audit SET detail='nothing to see' WHERE id=2")
        prev = GENESIS
        for rid, at, actor, action, tenant, allowed, detail in db.execute(
            "SELECT id, at, actor, action, tenant, allowed, detail FROM audit ORDER BY id"
        ).fetchall():
            digest = row_hash(prev, rid, at, actor, action, tenant, bool(allowed), detail)
            db.execute("UPDATE audit SET prev=?, hash=? WHERE id=?", (prev, digest, rid))
            prev = digest
    assert ess(install, "audit", "verify")[0] == 0
    code, out = ess(install, "audit", "verify", "--head", head)
    assert code == 1, out
    assert "not the head seen outside" in out


def test_audit_is_a_group_and_an_unknown_tenant_is_a_usage_error(install: Path) -> None:
    code, out = ess(install, "audit", "list", "nosuch")
    assert code == 2, out
    assert "nosuch" in out
    code, out = ess(install, "audit", "list", "alpha")
    assert code == 0, out
    assert "alpha" in out
    code, out = ess(install, "audit", "verify", "--head", "12:nothex")
    assert code == 2, out
    assert "ID:HASH" in out
