"""Through MCP, a person protected after their account was made is shown by pseudonym only:
explain_record (desired, observed, operations of the runs before) and find_person."""

from __future__ import annotations

from typing import Any

from mcp_support import everything_text, structured

from engine.ops import Ops
from engine.redact import pseudonym
from tests.conftest import Workdir
from tests.privacy.protected_support import names_of, protected_after_sync


async def test_explain_record_and_search_show_the_pseudonym_only(
    workdir: Workdir, connect: Any
) -> None:
    person = await protected_after_sync(workdir)
    ops = await Ops.open(workdir.config, actor="mcp:unknown", read_only=True)
    try:
        async with connect(ops) as client:
            explained = await client.call_tool(
                "explain_record", {"tenant": "alpha", "record_type": "person", "key": person.id}
            )
            found = await client.call_tool("find_person", {"query": person.id})
    finally:
        await ops.close()
    answer = structured(explained)
    assert answer["label"] == pseudonym(person.id)
    assert answer["observed"] and answer["operations"]
    text = everything_text(explained) + everything_text(found)
    assert not [n for n in names_of(person) if n in text]
