"""Answers cost an assistant's context: compact JSON; and a write tool that is not served says
why, instead of "Unknown tool"."""

from __future__ import annotations

from mcp.types import TextContent
from mcp_fake_ops import FakeOps
from mcp_support import ClientFactory, error_text, structured

from server.toolsets import WRITE_TOOLS


async def test_answers_are_compact_json(fake: FakeOps, connect: ClientFactory) -> None:
    async with connect(fake) as client:
        answer = await client.call_tool("list_findings", {"tenant": "alpha", "limit": 20})
    assert structured(answer)["findings"]
    texts = [b.text for b in answer.content if isinstance(b, TextContent)]
    assert texts
    for text in texts:
        assert "\n" not in text
        assert '": ' not in text and '", "' not in text


async def test_a_write_tool_without_writes_says_why(fake: FakeOps, connect: ClientFactory) -> None:
    async with connect(fake, allow_writes=True) as client:
        served = {t.name for t in (await client.list_tools()).tools}
    assert set(WRITE_TOOLS) <= served
    async with connect(fake) as client:
        read_only = {t.name for t in (await client.list_tools()).tools}
        assert not set(WRITE_TOOLS) & read_only
        for name in WRITE_TOOLS:
            answer = await client.call_tool(name, {})
            assert answer.is_error
            assert "--allow-writes" in error_text(answer), name
        unknown = await client.call_tool("no_such_tool", {})
        assert unknown.is_error
        assert "--allow-writes" not in error_text(unknown)
