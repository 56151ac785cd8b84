"""The status toolset over the facade: answers, paging, caps and errors that say what to do."""

from __future__ import annotations

from mcp_fake_ops import FakeOps
from mcp_support import ClientFactory, error_text, structured


async def test_list_tenants_pages_with_opaque_cursor(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        first = structured(await client.call_tool("list_tenants", {"limit": 2}))
        assert [t["id"] for t in first["tenants"]] == ["alpha", "beta"]
        assert first["next_cursor"]
        assert "cursor" in first["note"]
        second = structured(
            await client.call_tool("list_tenants", {"limit": 2, "cursor": first["next_cursor"]})
        )
        assert [t["id"] for t in second["tenants"]] == ["gamma"]
        assert second["next_cursor"] is None
        assert second["note"] is None
        alpha = first["tenants"][0]
        assert alpha["health"] == "failing"
        assert alpha["last_run"]["status"] == "partial"
        assert alpha["last_run"]["duration_s"] == 180.0


async def test_a_foreign_cursor_is_refused_with_advice(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        runs = structured(await client.call_tool("list_runs", {"tenant": "alpha", "limit": 1}))
        text = error_text(await client.call_tool("list_tenants", {"cursor": runs["next_cursor"]}))
        assert "next_cursor" in text
        assert "cursor" in error_text(await client.call_tool("list_tenants", {"cursor": "%%%"}))


async def test_tenant_status_reports_actions_and_next_steps(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        beta = structured(await client.call_tool("tenant_status", {"tenant": "beta"}))
        assert beta["tenant"]["tier"] == "silver"
        sync = next(a for a in beta["actions"] if a["action"] == "sync")
        assert sync["allowed"] is False
        assert "elevation" in sync["reason"]
        assert "list_held_plans" in beta["next_steps"]
        assert beta["config"]["source"]["client_secret"] == "env:ALPHA_SECRET"
        alpha = structured(await client.call_tool("tenant_status", {"tenant": "alpha"}))
        assert all(a["allowed"] for a in alpha["actions"])
        assert "list_failures" in alpha["next_steps"]


async def test_unknown_tenant_says_where_to_look(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        text = error_text(await client.call_tool("tenant_status", {"tenant": "nope"}))
        assert "Not found" in text
        assert "list_tenants" in text
        text = error_text(await client.call_tool("list_runs", {"tenant": "nope"}))
        assert "list_tenants" in text


async def test_list_runs_pages_newest_first(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        seen: list[int] = []
        cursor = None
        while True:
            args = {"tenant": "alpha", "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = structured(await client.call_tool("list_runs", args))
            seen += [r["id"] for r in page["runs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [3, 2, 1]


async def test_get_run_gives_breakdown_and_next_steps(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        run = structured(await client.call_tool("get_run", {"run_id": 3}))
        assert run["run"]["status"] == "partial"
        assert run["findings"] == 5
        assert run["operations"][0] == {
            "status": "failed",
            "action": "create",
            "kind": "user",
            "count": 1,
        }
        assert "list_failures" in run["next_steps"]
        assert "search_run_log" in run["next_steps"]
        held = structured(await client.call_tool("get_run", {"run_id": 5}))
        assert held["guard"]["held"] is True
        assert "approve_plan" in held["next_steps"]
        assert "list_runs" in error_text(await client.call_tool("get_run", {"run_id": 999}))


async def test_list_failures_caps_and_pages(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        first = structured(await client.call_tool("list_failures", {"tenant": "alpha"}))
        assert len(first["items"]) == 20
        assert first["next_cursor"]
        assert {i["status"] for i in first["items"][:3]} == {"failed", "dead", "blocked"}
        rest = structured(
            await client.call_tool(
                "list_failures", {"tenant": "alpha", "cursor": first["next_cursor"], "limit": 100}
            )
        )
        assert len(rest["items"]) == 13
        assert rest["next_cursor"] is None
        ids = [i["id"] for i in first["items"] + rest["items"]]
        assert len(set(ids)) == 33
        too_big = await client.call_tool("list_failures", {"limit": 1000})
        assert too_big.is_error


async def test_list_findings_filters_by_severity(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        page = structured(
            await client.call_tool("list_findings", {"tenant": "alpha", "severity": "blocking"})
        )
        assert [f["severity"] for f in page["findings"]] == ["blocking"] * 3
        assert page["findings"][0]["fix"]


async def test_an_unknown_severity_is_an_error_not_an_empty_page(
    fake: FakeOps, connect: ClientFactory
):
    async with connect(fake) as client:
        args = {"tenant": "alpha", "severity": "critical"}
        answer = await client.call_tool("list_findings", args)
        assert answer.is_error
        assert "blocking" in error_text(answer) and "warning" in error_text(answer)


async def test_list_held_plans(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        plans = structured(await client.call_tool("list_held_plans", {}))["plans"]
        assert [(p["run_id"], p["tenant"]) for p in plans] == [(5, "beta")]
        assert plans[0]["would_remove"] == {"delete user": 120}
        none = structured(await client.call_tool("list_held_plans", {"tenant": "alpha"}))
        assert none["plans"] == []
