"""`ess logs RUN --follow` follows a run until it ends, also a held plan being applied after
its approval (a run that was finished once, while held, and runs again)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

import console.cli_queries as queries
from console.cli import app
from engine.journal.sqlite import SqliteJournal
from engine.testing.scenario import build_scenario

runner = CliRunner()


def test_follow_waits_for_an_approved_plan_to_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = build_scenario(tmp_path / "scenario")
    monkeypatch.setattr(queries, "FOLLOW_POLL_S", 0.05)
    base = ["--config", str(config), "--actor", "cli:tester"]
    runs = json.loads(runner.invoke(app, [*base, "runs", "beta", "--json"]).stdout)
    held = runs[0]
    assert held["status"] == "held" and held["finished_at"] is not None
    journal_path = config.parent / "ess.db"

    async def change(status: str, message: str, finished: bool) -> None:
        journal = await SqliteJournal.open(journal_path)
        try:
            at = datetime.now(UTC).isoformat()
            await journal.add_events("beta", held["id"], [(at, "info", message)])
            await journal.update_run(held["id"], status=status, finished=finished)
        finally:
            await journal.close()

    asyncio.run(change("running", "plan approved; applying it", False))
    result: dict[str, object] = {}

    def follow() -> None:
        got = runner.invoke(app, [*base, "logs", str(held["id"]), "--follow", "--json"])
        result["code"], result["out"] = got.exit_code, got.stdout
        result["ended"] = time.monotonic()

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(1.0)
    assert thread.is_alive(), "follow stopped while the run was still running"
    asyncio.run(change("succeeded", "applied 131 of 131", True))
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert result["code"] == 0
    lines = [json.loads(line)["message"] for line in str(result["out"]).splitlines()]
    assert "plan approved; applying it" in lines
    assert lines[-1] == "applied 131 of 131"  # printed after it was written, then it ended
