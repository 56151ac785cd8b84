"""The served surface (tools, resources, prompts) must match tools_snapshot.json exactly.

A change to a tool's name, description, schema or annotations is a change to what assistants
see: review the diff, then regenerate the snapshot on purpose with

    ESS_UPDATE_MCP_SNAPSHOT=1 .venv/bin/python -m pytest tests/mcp/test_mcp_toolsnap.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp_fake_ops import FakeOps
from mcp_support import ClientFactory

SNAPSHOT = Path(__file__).with_name("tools_snapshot.json")
UPDATE_ENV = "ESS_UPDATE_MCP_SNAPSHOT"


async def _surface(connect: ClientFactory) -> dict[str, Any]:
    async with connect(FakeOps(), allow_writes=True) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts

    def dump(items: list[Any]) -> list[dict[str, Any]]:
        return [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]

    return {
        "tools": sorted(dump(tools), key=lambda t: t["name"]),
        "resources": dump(resources),
        "resourceTemplates": sorted(dump(templates), key=lambda t: t["uriTemplate"]),
        "prompts": dump(prompts),
    }


async def test_surface_matches_the_snapshot(connect: ClientFactory):
    current = json.dumps(await _surface(connect), indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with {UPDATE_ENV}=1 to write it"
    assert json.loads(current) == json.loads(SNAPSHOT.read_text(encoding="utf-8")), (
        f"the MCP surface changed; if that is intended, rerun with {UPDATE_ENV}=1 and review "
        "the diff of tests/mcp/tools_snapshot.json"
    )


WRITES = {
    "start_sync",
    "retry_items",
    "skip_items",
    "approve_plan",
    "reject_plan",
    "rekey_source",
    "release_source_holds",
}


async def test_every_tool_is_described_and_annotated(connect: ClientFactory):
    surface = await _surface(connect)
    for tool in surface["tools"]:
        ann = tool["annotations"]
        assert len(tool["description"]) > 200, tool["name"]
        assert "Example:" in tool["description"], tool["name"]
        assert "outputSchema" in tool, tool["name"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} <= set(ann)
        assert ann["readOnlyHint"] is (tool["name"] not in WRITES)
        if ann["readOnlyHint"]:
            assert ann["destructiveHint"] is False
            # reads the journal only; check_target signs in to the services (and writes nothing)
            assert ann["openWorldHint"] is (tool["name"] == "check_target")
