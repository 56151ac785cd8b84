"""Writes: absent unless allowed, refused by the tenant's tier, audited as mcp:<client>."""

from __future__ import annotations

import pytest
from mcp_fake_ops import FakeOps
from mcp_support import CLIENT_NAME, ClientFactory, error_text, structured

WRITE_TOOLS = {"start_sync", "retry_items", "skip_items", "approve_plan", "reject_plan"}


async def _names(client) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.name for t in (await client.list_tools()).tools}


async def test_write_tools_are_absent_unless_writes_are_allowed(
    fake: FakeOps, connect: ClientFactory
):
    async with connect(fake) as client:
        assert not (await _names(client)) & WRITE_TOOLS
        result = await client.call_tool("retry_items", {"item_ids": [101]})
        assert result.is_error
    async with connect(fake, toolsets={"status", "operations"}) as client:
        assert not (await _names(client)) & WRITE_TOOLS
    async with connect(fake, allow_writes=True) as client:
        assert (await _names(client)) >= WRITE_TOOLS
    assert fake.audit_rows == []


async def test_toolsets_choose_what_is_served(fake: FakeOps, connect: ClientFactory):
    async with connect(fake, toolsets={"logs"}) as client:
        assert await _names(client) == {"search_run_log"}
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["ess://runs/{run_id}/log"]
    async with connect(fake, toolsets={"explain"}) as client:
        assert await _names(client) == {"find_person", "find_group", "explain_record"}


def test_unknown_toolset_is_a_clear_error(fake: FakeOps):
    from server.app import build_server
    from server.toolsets import ToolsetError

    with pytest.raises(ToolsetError, match=r"unknown toolset.*statu.*choose from"):
        build_server(fake, allow_writes=False, toolsets={"statu"})


async def test_start_sync_is_a_dry_run_unless_asked(fake: FakeOps, connect: ClientFactory):
    async with connect(fake, allow_writes=True) as client:
        dry = structured(await client.call_tool("start_sync", {"tenant": "gamma"}))
        assert dry["run"]["dry_run"] is True
        assert "nothing changed" in dry["next_steps"]
        assert fake.audit_rows == []  # a dry run is not a write
        real = structured(
            await client.call_tool("start_sync", {"tenant": "alpha", "dry_run": False})
        )
        assert real["run"]["dry_run"] is False
        assert real["run"]["trigger"] == "mcp"
        assert real["actor"] == f"mcp:{CLIENT_NAME}"
    assert [(a.actor, a.action, a.tenant) for a in fake.audit_rows] == [
        (f"mcp:{CLIENT_NAME}", "sync", "alpha")
    ]


@pytest.mark.parametrize(
    ("tool", "args", "tier_word"),
    [
        ("start_sync", {"tenant": "beta", "dry_run": False}, "silver"),
        ("start_sync", {"tenant": "gamma", "dry_run": False}, "gold"),
        ("approve_plan", {"run_id": 5, "reason": "ok"}, "silver"),
        ("reject_plan", {"run_id": 5}, "silver"),
    ],
)
async def test_the_tier_refuses_writes_and_the_refusal_is_audited(
    fake: FakeOps, connect: ClientFactory, tool: str, args: dict[str, object], tier_word: str
):
    async with connect(fake, allow_writes=True) as client:
        text = error_text(await client.call_tool(tool, args))
    assert "Refused by policy" in text
    assert tier_word in text
    assert "tenant_status" in text
    assert [(a.actor, a.allowed) for a in fake.audit_rows] == [(f"mcp:{CLIENT_NAME}", False)]
    assert fake.d.runs[5].status == "held"


async def test_an_elevation_lets_a_silver_write_through(fake: FakeOps, connect: ClientFactory):
    fake.d.elevated.add("beta")
    async with connect(fake, allow_writes=True, name="ops-bot") as client:
        out = structured(await client.call_tool("approve_plan", {"run_id": 5, "reason": "leavers"}))
    assert out["run"]["status"] == "succeeded"
    assert out["actor"] == "mcp:ops-bot"
    assert fake.audit_rows[-1].actor == "mcp:ops-bot"


async def test_retry_skip_and_reject(fake: FakeOps, connect: ClientFactory):
    async with connect(fake, allow_writes=True, mode="legacy") as client:
        retried = structured(await client.call_tool("retry_items", {"item_ids": [101, 103]}))
        assert retried["affected"] == 2
        skipped = structured(
            await client.call_tool("skip_items", {"item_ids": [102], "reason": "leaves soon"})
        )
        assert skipped["ok"] is True
        assert (await client.call_tool("skip_items", {"item_ids": [102], "reason": ""})).is_error
        assert "list_failures" in error_text(
            await client.call_tool("retry_items", {"item_ids": [999]})
        )
        fake.d.elevated.add("beta")
        rejected = structured(await client.call_tool("reject_plan", {"run_id": 5, "reason": "no"}))
        assert rejected["run_id"] == 5
    statuses = {o.id: o.status for o in fake.d.ops}
    assert (statuses[101], statuses[102], statuses[103]) == ("done", "skipped", "done")
    assert fake.d.runs[5].status == "rejected"
    assert {a.actor for a in fake.audit_rows} == {f"mcp:{CLIENT_NAME}"}


async def test_a_read_only_facade_refuses_even_a_served_write(connect: ClientFactory):
    ro = FakeOps(read_only=True)
    from mcp import Client

    from server.app import build_server

    server = build_server(ro, allow_writes=True, toolsets=None)  # no opener: writes use `ro`
    async with Client(server) as client:
        text = error_text(await client.call_tool("retry_items", {"item_ids": [101]}))
    assert "read-only" in text
    assert ro.audit_rows[-1].allowed is False


async def test_the_client_name_is_cut_to_safe_characters(fake: FakeOps, connect: ClientFactory):
    async with connect(fake, allow_writes=True, name="evil\n<script> 'x'" + "y" * 100) as client:
        out = structured(await client.call_tool("retry_items", {"item_ids": [101]}))
    assert out["actor"].startswith("mcp:evilscript x")
    assert len(out["actor"]) == len("mcp:") + 64
