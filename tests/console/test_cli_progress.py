"""A running run shows live progress wherever it appears: done, in flight, failed, pending,
the pace and the time left, counted from its items (not the counts stored when it ends)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app
from engine.journal.sqlite import SqliteJournal
from engine.testing.scenario import build_scenario
from engine.views import RunProgress

runner = CliRunner()


def test_progress_counts_and_pace() -> None:
    p = RunProgress.of({"done": 40, "failed": 2, "dead": 1, "in_flight": 7, "pending": 50}, 60)
    assert (p.total, p.done, p.failed, p.in_flight, p.pending) == (100, 40, 3, 7, 50)
    assert p.per_minute == 43
    assert p.seconds_left is not None and round(p.seconds_left) == round(57 / (43 / 60))
    assert (
        p.line() == "done 40 of 100, in flight 7, failed 3, pending 50; 43/min, about 1m 20s left"
    )
    assert RunProgress.of({"pending": 5}, 10).seconds_left is None  # nothing finished yet


def test_show_of_a_running_run_has_live_progress(tmp_path: Path) -> None:
    config = build_scenario(tmp_path / "scenario")
    base = ["--config", str(config), "--actor", "cli:tester"]
    run = json.loads(runner.invoke(app, [*base, "runs", "alpha", "--json"]).stdout)[0]

    async def set_running() -> None:
        journal = await SqliteJournal.open(config.parent / "ess.db")
        try:
            await journal.update_run(run["id"], status="running")
        finally:
            await journal.close()

    asyncio.run(set_running())
    shown = json.loads(runner.invoke(app, [*base, "show", str(run["id"]), "--json"]).stdout)
    progress = shown["progress"]
    statuses: dict[str, int] = {}
    for c in shown["operations"]:
        statuses[c["status"]] = statuses.get(c["status"], 0) + c["count"]
    assert progress["total"] == sum(statuses.values())
    assert progress["done"] == statuses.get("done", 0)
    assert progress["failed"] == statuses.get("failed", 0) + statuses.get("dead", 0)
    out = runner.invoke(app, [*base, "show", str(run["id"])], env={"COLUMNS": "200"}).stdout
    assert f"done {progress['done']} of {progress['total']}" in out


def test_approve_shows_the_same_progress_as_sync(tmp_path: Path) -> None:
    config = build_scenario(tmp_path / "scenario")
    base = ["--config", str(config), "--actor", "cli:tester"]
    held = json.loads(runner.invoke(app, [*base, "runs", "beta", "--json"]).stdout)[0]
    assert held["status"] == "held"
    elevated = runner.invoke(app, [*base, "elevate", "beta", "--reason", "apply the leavers"])
    assert elevated.exit_code == 0, elevated.stderr
    result = runner.invoke(app, [*base, "approve", str(held["id"]), "--reason", "term end"])
    assert result.exit_code == 0, result.stderr
    assert "apply" in result.stderr and "mem" in result.stderr  # the apply bar of the target
    assert f"run #{held['id']} beta: succeeded" in result.stdout
