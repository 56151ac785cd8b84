"""Which worker runs what: while a tenant runs, the CLI, the MCP server and the console name
the process holding its lease (a worker's name, host and pid), also for a run another worker
resumed, whose recorded actor is still the one that started it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app as cli
from console.tui.app import ConsoleApp
from engine.ops import Ops
from tests.conftest import Workdir
from tests.console.console_support import screen_text, settle
from tests.hosted_scope.scope_support import SERVED, config_text
from tests.hosted_scope.test_mcp_tenant_scope import ANNA, TOKENS, _call, as_token, ess_http
from tests.journal.journal_support import new_run

RESUMER = "worker:w2 on node-b pid 4242"


async def _running(config: Path) -> int:
    """A run started by worker w1 whose lease worker w2 holds now (it took the run over)."""
    async with await Ops.open(config, actor="test:setup") as ops:
        run_id = await ops.journal.create_run(
            SERVED, trigger="scheduled", actor="worker:w1", dry_run=False, targets=["mem"]
        )
        await ops.journal.acquire_lease(SERVED, RESUMER, 600)
        await new_run(ops.journal, "beta", status="succeeded")  # a tenant not running
        return run_id


def flat(text: str) -> str:
    """The CLI's key-value tables on one line, without the column rule."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_SCOPE_ANNA", ANNA)
    monkeypatch.setenv("ESS_TEST_SCOPE_BOSS", "boss-token-0123456789abcdef")


@pytest.fixture
def config(workdir: Workdir) -> Path:
    workdir.config.write_text(config_text(TOKENS), encoding="utf-8")
    return workdir.config


def test_the_cli_names_the_worker_running_a_tenant(config: Path) -> None:
    run_id = asyncio.run(_running(config))
    runner = CliRunner()
    shown = runner.invoke(cli, ["--config", str(config), "status", SERVED])
    assert shown.exit_code == 0, shown.output
    assert f"running on {RESUMER}" in flat(shown.output)
    run = runner.invoke(cli, ["--config", str(config), "show", str(run_id)])
    assert run.exit_code == 0, run.output
    assert f"running on {RESUMER}" in flat(run.output)
    assert "worker:w1" in run.output  # who started it stays recorded beside
    other = runner.invoke(cli, ["--config", str(config), "status", "beta"])
    assert "running on" not in other.output


async def test_mcp_answers_say_which_worker_runs_the_tenant(config: Path) -> None:
    run_id = await _running(config)
    async with ess_http(config) as url, as_token(url, ANNA) as anna:
        ok, status = await _call(anna, "tenant_status", tenant=SERVED)
        assert ok and status["tenant"]["running_on"] == RESUMER
        ok, run = await _call(anna, "get_run", run_id=run_id)
        assert ok and run["run"]["running_on"] == RESUMER and run["run"]["actor"] == "worker:w1"
        ok, runs = await _call(anna, "list_runs", tenant=SERVED)
        assert ok and runs["runs"][0]["running_on"] == RESUMER


async def test_the_console_says_which_worker_runs_the_tenant_and_the_run(config: Path) -> None:
    run_id = await _running(config)
    async with await Ops.open(config, actor="console:test") as ops:
        app = ConsoleApp(ops, refresh_seconds=0, watch_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.run_command(f"tenant {SERVED}")
            await settle(pilot)
            assert f"running on {RESUMER}" in screen_text(app)
            app.run_command(f"run {run_id}")
            await settle(pilot)
            assert f"running on {RESUMER}" in screen_text(app)
