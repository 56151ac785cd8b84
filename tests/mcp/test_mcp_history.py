"""The tools a support engineer checks before acting: one item's attempts (with the service's
request id), the audit log and elevations, against the scenario's real journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mcp import Client
from mcp.types import Implementation
from mcp_support import error_text, structured

from engine.ops import Ops
from engine.testing.scenario import build_scenario, build_scenario_async
from server.app import build_server


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scenario(tmp_path_factory.mktemp("history"))


async def test_item_attempts_audit_and_elevations(scenario: Path) -> None:
    async with await Ops.open(scenario, actor="mcp:unknown", read_only=True) as ops:
        item = next(o for o in await ops.failures("alpha") if o.attempts >= 2)
        detail = await ops.operation(item.id)
        server = build_server(ops, allow_writes=False, toolsets=None)
        async with Client(server, client_info=Implementation(name="t", version="1")) as client:
            got = structured(await client.call_tool("get_item", {"item_id": item.id}))
            assert got["item"]["id"] == item.id and got["item"]["status"] == item.status
            assert [a["number"] for a in got["attempts"]] == [a.number for a in detail.attempts]
            assert got["attempts"][-1]["message"] == detail.attempts[-1].message
            assert got["record_type"] == detail.record_type
            missing = error_text(await client.call_tool("get_item", {"item_id": 999_999}))
            assert "no item 999999" in missing

            audit = structured(await client.call_tool("list_audit", {"limit": 2}))
            newest = await ops.audit(None, limit=3)
            assert [r["id"] for r in audit["rows"]] == [a.id for a in newest[:2]]
            assert audit["note"] and "older rows" in audit["note"]
            beta = structured(await client.call_tool("list_audit", {"tenant": "beta"}))
            assert beta["rows"] and {r["tenant"] for r in beta["rows"]} == {"beta"}

            elevations = structured(await client.call_tool("list_elevations", {"tenant": "beta"}))
            (ev,) = elevations["elevations"]  # the scenario's one, asked by its setup
            assert ev["tenant"] == "beta" and ev["reason"] == "first sync of a new tenant"
            assert ev["status"] in ("active", "expired")


async def test_findings_severity_is_an_enum_in_the_answer_schema(scenario: Path) -> None:
    async with await Ops.open(scenario, actor="mcp:unknown", read_only=True) as ops:
        server = build_server(ops, allow_writes=False, toolsets=None)
        async with Client(server, client_info=Implementation(name="t", version="1")) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["list_findings"].output_schema
    assert schema is not None
    finding = schema["$defs"]["FindingOut"]["properties"]["severity"]
    assert finding["enum"] == ["blocking", "warning"]
    severity = tools["list_findings"].input_schema["properties"]["severity"]
    assert "critical" not in str(severity) and "blocking" in str(severity)


async def test_get_run_of_a_running_run_shows_progress(tmp_path: Path) -> None:
    config = await build_scenario_async(tmp_path)
    async with await Ops.open(config, actor="mcp:unknown", read_only=True) as ops:
        run = (await ops.runs("alpha", limit=1))[0]
        counts = {c.status: 0 for c in (await ops.run(run.id)).operations}
        for c in (await ops.run(run.id)).operations:
            counts[c.status] += c.count
    with sqlite3.connect(config.parent / "ess.db") as db:  # as the journal holds a live run
        db.execute("UPDATE runs SET status='running', finished_at=NULL WHERE id=?", (run.id,))
    async with await Ops.open(config, actor="mcp:unknown", read_only=True) as ops:
        server = build_server(ops, allow_writes=False, toolsets=None)
        async with Client(server, client_info=Implementation(name="t", version="1")) as client:
            got = structured(await client.call_tool("get_run", {"run_id": run.id}))
    assert got["run"]["status"] == "running"
    assert got["progress"]["total"] == sum(counts.values())
    assert got["progress"]["done"] == counts.get("done", 0)
    failed = sum(counts.get(s, 0) for s in ("failed", "dead", "blocked"))
    assert got["open_failures"] == failed  # the scenario's partial run: nothing retried yet
