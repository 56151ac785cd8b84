"""What release 0.1 left on disk keeps working: its journal and its ess.toml files.

``release_0_1/journal`` is a journal written by release 0.1 (schema 2) through real runs of three
tenants against the memory doubles (engine/testing/scenario.py as it was then): a clean run, a run
with dead, failed and blocked items and findings, a plan held by the guard, and a tenant never run.
``release_0_1/config`` holds that release's ess.toml.example and the ess.toml its demo wrote.
Each test works on a copy, so the fixture itself never changes.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.ops import Ops

FIXTURE = Path(__file__).parent / "release_0_1"


@pytest.fixture
def old_install(tmp_path: Path) -> Path:
    """A copy of the release 0.1 installation: its ess.toml, journal and memory doubles."""
    dest = tmp_path / "install"
    shutil.copytree(FIXTURE / "journal", dest)
    return dest


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_the_old_journal_opens_and_answers_every_view(old_install: Path) -> None:
    db = old_install / "ess.db"
    runs_before = _count(db, "SELECT count(*) FROM runs")
    ops_before = _count(db, "SELECT count(*) FROM operations")
    async with await Ops.open(old_install / "ess.toml", actor="test:compat") as ops:
        tenants = {t.id: t for t in await ops.tenants()}
        assert set(tenants) == {"alpha", "beta", "gamma"}
        assert tenants["gamma"].last_run is None
        assert tenants["alpha"].failed_items > 0  # the dead, failed and blocked items survive
        held = await ops.held_plans()
        assert [h.tenant for h in held] == ["beta"]
        alpha_runs = await ops.runs("alpha")
        assert len(alpha_runs) == 2
        detail = await ops.run(alpha_runs[0].id)
        assert detail.summary.counts.get("planned", 0) > 0
        failures = await ops.failures("alpha")
        assert failures
        op = await ops.operation(failures[0].id)
        assert op.operation.id == failures[0].id
        assert op.operation.request_id is None  # no request id was kept then
        assert op.attempts and all(a.request_id is None for a in op.attempts)
        findings = await ops.findings("alpha")
        assert findings
        hits = await ops.search("DR 9A")
        assert any(h.key == "g-11-new-drama" for h in hits)
        explained = await ops.explain("alpha", "group", "g-11-new-drama")
        assert explained.operations
        assert await ops.events(alpha_runs[0].id)
        assert await ops.audit()
    # nothing was lost on the way up
    assert _count(db, "SELECT count(*) FROM runs") == runs_before
    assert _count(db, "SELECT count(*) FROM operations") == ops_before


async def test_the_old_journal_takes_a_new_run(old_install: Path) -> None:
    async with await Ops.open(old_install / "ess.toml", actor="test:compat") as ops:
        summary = await ops.sync("alpha")
        assert summary.status in ("succeeded", "partial"), summary
        again = await ops.sync("alpha", dry_run=True)
        assert again.status == "succeeded"


@pytest.mark.parametrize("name", ["ess.toml.example", "demo-ess.toml"])
def test_the_old_configuration_files_still_pass_config_check(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURE / "config")
    result = CliRunner().invoke(app, ["--config", name, "config", "check"])
    assert result.exit_code == 0, result.output
    assert f"{name}: ok" in result.output
