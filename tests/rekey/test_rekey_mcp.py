"""``rekey_source``, ``list_source_holds`` and ``release_source_holds`` over the MCP server, on a
real journal and real sources: a dry run by default that changes nothing, a real rekey refused
on a silver tenant without an elevation and done with one, and the held person listed and
released."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, Implementation

from engine.ops import Ops
from server.app import build_server
from tests.rekey.rekey_support import IMS, SS12000, write_config
from tests.rekey.test_rekey_end_to_end import _strip_keys_of


def _ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def _error(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text


@asynccontextmanager
async def _client(ops: Ops, *, allow_writes: bool = True) -> AsyncIterator[Client]:
    server = build_server(ops, allow_writes=allow_writes, toolsets=None)
    async with Client(server, client_info=Implementation(name="pytest", version="1")) as client:
        yield client


async def _moving_tenant(
    tmp_path: Path, ims_sample: Path, ss12000_copy: Callable[..., Path]
) -> Path:
    """Synced from the IMS export, now configured for the SS 12000 folder (one person without
    keys there) with the export as the rekey's ``from``; a silver tenant."""
    config = write_config(tmp_path, IMS.format(path=ims_sample))
    async with await Ops.open(config, actor="test:eva") as ops:
        assert (await ops.sync("lovsta")).status == "succeeded"
    persons = json.loads((ims_sample / ".ss12000" / "persons.json").read_text("utf-8"))["data"]
    new = ss12000_copy(_strip_keys_of(persons[0]["givenName"]))
    write_config(tmp_path, SS12000.format(path=new), IMS.format(path=ims_sample))
    text = config.read_text("utf-8").replace(
        'name = "Lövsta kommun"', 'name = "Lövsta kommun"\ntier = "silver"'
    )
    config.write_text(text, "utf-8")
    return config


async def test_rekey_over_mcp_dry_run_then_elevated_apply_then_release(
    tmp_path: Path, ims_sample: Path, ss12000_copy: Callable[..., Path]
) -> None:
    config = await _moving_tenant(tmp_path, ims_sample, ss12000_copy)
    async with await Ops.open(config, actor="mcp:pytest") as ops, _client(ops) as client:
        dry = _ok(await client.call_tool("rekey_source", {"tenant": "lovsta"}))
        assert dry["dry_run"] is True and dry["moved"] == {}
        persons = dry["old_counts"]["persons"]
        assert dry["matched"]["person"] == persons - 1
        assert dry["not_moved"] == {"unmatched": 1, "ambiguous": 0, "clash": 0}
        [record] = dry["records"]
        assert record["record_type"] == "person" and record["reason"] == "unmatched"
        assert "dry_run=false" in dry["next_steps"]
        assert _ok(await client.call_tool("list_source_holds", {"tenant": "lovsta"}))["holds"] == []

        refused = _error(
            await client.call_tool("rekey_source", {"tenant": "lovsta", "dry_run": False})
        )
        assert "Refused by policy: silver tenant" in refused
        assert await ops.source_holds("lovsta") == []  # nothing moved

        await ops.elevate("lovsta", reason="moving to the SS 12000 API")
        done = _ok(await client.call_tool("rekey_source", {"tenant": "lovsta", "dry_run": False}))
        assert done["dry_run"] is False and done["moved"]["mirror"] > 0
        assert done["actor"] == "mcp:pytest"
        holds = _ok(await client.call_tool("list_source_holds", {"tenant": "lovsta"}))["holds"]
        assert [(h["record_type"], h["key"]) for h in holds] == [("person", record["old_id"])]

        bad = _error(
            await client.call_tool(
                "release_source_holds", {"tenant": "lovsta", "records": ["pupil:x"]}
            )
        )
        assert "records[0] is not TYPE:ID" in bad
        both = await client.call_tool(
            "release_source_holds",
            {"tenant": "lovsta", "records": ["person:x"], "release_all": True},
        )
        assert "or give release_all=true" in _error(both)
        released = _ok(
            await client.call_tool(
                "release_source_holds",
                {"tenant": "lovsta", "records": [f"person:{record['old_id']}"]},
            )
        )
        assert released["ok"] is True and released["affected"] == 1
        assert await ops.source_holds("lovsta") == []
        audit = [(a.action, a.allowed) for a in await ops.audit("lovsta")]
        assert ("source_rekey", False) in audit  # the refusal is audited too
        assert ("source_release", True) in audit


async def test_rekey_and_release_are_not_served_read_only(
    tmp_path: Path, ims_sample: Path, ss12000_copy: Callable[..., Path]
) -> None:
    config = await _moving_tenant(tmp_path, ims_sample, ss12000_copy)
    async with (
        await Ops.open(config, actor="mcp:pytest", read_only=True) as ops,
        _client(ops, allow_writes=False) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        assert "list_source_holds" in names
        assert not names & {"rekey_source", "release_source_holds"}
        text = _error(await client.call_tool("rekey_source", {"tenant": "lovsta"}))
        assert "--allow-writes" in text
