"""Resources (ess://tenants, ess://tenants/{id}, ess://runs/{id}, ess://runs/{id}/log) and the
troubleshoot_tenant prompt."""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError
from mcp_fake_ops import FakeOps
from mcp_support import ClientFactory


async def test_resources_are_listed(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        static = [r.uri for r in (await client.list_resources()).resources]
        templates = [
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        ]
    assert static == ["ess://tenants"]
    assert sorted(templates) == [
        "ess://runs/{run_id}",
        "ess://runs/{run_id}/log",
        "ess://tenants/{tenant_id}",
    ]


async def test_tenant_resources(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        listing = json.loads((await client.read_resource("ess://tenants")).contents[0].text)
        one = json.loads((await client.read_resource("ess://tenants/beta")).contents[0].text)
        with pytest.raises(MCPError, match="no tenant"):
            await client.read_resource("ess://tenants/nope")
    assert [t["id"] for t in listing] == ["alpha", "beta", "gamma"]
    assert one["tenant"]["health"] == "held"
    assert one["schedule"] == "0 5 * * *"


async def test_run_resources(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        run = json.loads((await client.read_resource("ess://runs/3")).contents[0].text)
        log = (await client.read_resource("ess://runs/3/log")).contents[0]
        with pytest.raises(MCPError, match="number"):
            await client.read_resource("ess://runs/abc")
        with pytest.raises(MCPError, match="no run"):
            await client.read_resource("ess://runs/77/log")
    assert run["run"]["status"] == "partial"
    assert log.mime_type == "text/plain"
    lines = log.text.splitlines()
    assert len(lines) == 261
    assert lines[0].endswith("step 1 on 0a1b2c3d-4e5f-4a6b-8c7d-123456789012")
    assert "ERROR" in lines[-1]


async def test_run_log_resource_is_capped(fake: FakeOps, connect: ClientFactory):
    from mcp_fake_ops import T0

    from engine.views import EventView

    fake.d.events += [EventView(1000 + i, 3, "alpha", T0, "info", f"more {i}") for i in range(300)]
    async with connect(fake) as client:
        text = (await client.read_resource("ess://runs/3/log")).contents[0].text
    lines = text.splitlines()
    assert len(lines) == 501
    assert "search_run_log" in lines[-1]


async def test_troubleshoot_prompt_follows_the_served_toolsets(
    fake: FakeOps, connect: ClientFactory
):
    async with connect(fake) as client:
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["troubleshoot_tenant"]
        assert [a.name for a in prompts[0].arguments or []] == ["tenant"]
        got = await client.get_prompt("troubleshoot_tenant", {"tenant": "alpha"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
    assert "tenant_status(tenant='alpha')" in text
    assert "read-only" in text
    assert "retry_items" not in text
    async with connect(fake, allow_writes=True) as client:
        got = await client.get_prompt("troubleshoot_tenant", {"tenant": "beta"})
        text = got.messages[0].content.text  # type: ignore[union-attr]
    assert "retry_items" in text
    assert "ask the user before any write" in text
