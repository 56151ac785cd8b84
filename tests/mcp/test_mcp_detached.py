"""A real sync started over MCP runs in a process of its own: the call answers at once with the
run's id, the run goes on after the MCP session has ended, and it is audited as the client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import Implementation
from mcp_support import error_text, structured

from engine.ops import Ops
from engine.testing.scenario import build_scenario
from server.app import build_server

CLIENT = "detached-test"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return build_scenario(tmp_path)


async def test_a_real_sync_outlives_the_session_and_answers_at_once(scenario: Path) -> None:
    ops = await Ops.open(scenario, actor="mcp:unknown")

    async def open_for(actor: str) -> Ops:
        return await Ops.open(scenario, actor=actor)

    server = build_server(ops, allow_writes=True, toolsets=None, open_ops=open_for)
    try:
        async with Client(server, client_info=Implementation(name=CLIENT, version="1")) as client:
            started = structured(
                await client.call_tool("start_sync", {"tenant": "alpha", "dry_run": False})
            )
        # the session is over; the run is in the journal, started by the client, and goes on
        run_id = started["run"]["id"]
        assert started["actor"] == f"mcp:{CLIENT}"
        assert f"get_run(run_id={run_id})" in started["next_steps"]
        for _ in range(600):  # the other process ends the run; at most a minute
            run = (await ops.run(run_id)).summary
            if run.status != "running":
                break
            await asyncio.sleep(0.1)
        assert run.status in ("succeeded", "partial"), run
        assert run.actor == f"mcp:{CLIENT}" and run.trigger == "mcp"
        audit = await ops.audit("alpha")
        assert any(a.actor == f"mcp:{CLIENT}" and a.action == "sync" and a.allowed for a in audit)
    finally:
        await ops.close()


async def test_a_refused_sync_starts_no_process(scenario: Path) -> None:
    ops = await Ops.open(scenario, actor="mcp:unknown")
    server = build_server(ops, allow_writes=True, toolsets=None)
    try:
        runs_before = len(await ops.runs("gamma"))
        async with Client(server, client_info=Implementation(name=CLIENT, version="1")) as client:
            text = error_text(
                await client.call_tool("start_sync", {"tenant": "gamma", "dry_run": False})
            )
        assert "Refused by policy" in text and "gold" in text
        assert len(await ops.runs("gamma")) == runs_before
    finally:
        await ops.close()
