"""The logs and explain toolsets: filtered, capped log pages; search; a record's story."""

from __future__ import annotations

from mcp_fake_ops import FakeOps
from mcp_support import ClientFactory, error_text, structured


async def test_search_run_log_filters_and_caps(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        errors = structured(
            await client.call_tool("search_run_log", {"run_id": 3, "level": "error", "limit": 5})
        )
        assert [e["id"] for e in errors["events"]] == [10, 20, 30, 40, 50]
        assert errors["note"] is not None
        more = structured(
            await client.call_tool(
                "search_run_log",
                {"run_id": 3, "level": "error", "limit": 200, "cursor": errors["next_cursor"]},
            )
        )
        assert more["events"][0]["id"] == 60
        assert more["events"][-1]["id"] == 261
        assert more["next_cursor"] is None
        found = structured(
            await client.call_tool("search_run_log", {"run_id": 3, "contains": "step 7 "})
        )
        assert [e["message"].split(" on ")[0] for e in found["events"]] == ["step 7"]


async def test_search_run_log_refuses_over_the_cap_and_unknown_runs(
    fake: FakeOps, connect: ClientFactory
):
    async with connect(fake) as client:
        assert (await client.call_tool("search_run_log", {"run_id": 3, "limit": 201})).is_error
        assert (await client.call_tool("search_run_log", {"run_id": 3, "level": "loud"})).is_error
        text = error_text(await client.call_tool("search_run_log", {"run_id": 42}))
        assert "list_runs" in text


async def test_find_person_and_group_keep_their_kind(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        people = structured(await client.call_tool("find_person", {"query": "nils"}))
        assert [(h["record_type"], h["key"]) for h in people["hits"]] == [("person", "p-102")]
        assert people["hits"][0]["targets"] == {"microsoft": "u-9"}
        groups = structured(await client.call_tool("find_group", {"query": "7a"}))
        assert [h["key"] for h in groups["hits"]] == ["g-7a"]
        nothing = structured(await client.call_tool("find_group", {"query": "nils"}))
        assert nothing["hits"] == []
        assert "No match" in nothing["note"]
        capped = structured(await client.call_tool("find_person", {"query": "p-", "limit": 1}))
        assert len(capped["hits"]) == 1
        assert "more" in capped["note"]
        assert (await client.call_tool("find_person", {"query": "x"})).is_error  # too short


async def test_explain_record_tells_the_story(fake: FakeOps, connect: ClientFactory):
    async with connect(fake) as client:
        ex = structured(
            await client.call_tool(
                "explain_record", {"tenant": "alpha", "record_type": "person", "key": "p-102"}
            )
        )
        assert ex["summary"].startswith("Nils Ek has no account")
        assert ex["desired"]["microsoft"]["user"]["displayName"] == "Nils Ek"
        assert ex["observed"]["microsoft"]["user"]["target_id"] is None
        assert [o["id"] for o in ex["operations"]] == [102]
        assert ex["findings"][0]["code"] == "person.no_school"
        missing = await client.call_tool(
            "explain_record", {"tenant": "alpha", "record_type": "person", "key": "zz"}
        )
        assert "find_person" in error_text(missing)
        bad_type = await client.call_tool(
            "explain_record", {"tenant": "alpha", "record_type": "pupil", "key": "p-102"}
        )
        assert bad_type.is_error
