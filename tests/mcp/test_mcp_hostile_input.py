"""What a caller or the data puts into a tool call comes back scrubbed.

Arguments the tool's schema refuses are named without their values (a caller may paste a
secret or a personnummer); names with terminal escapes, RLO, NUL or markup come back written
out, in the structured answer and in its text alike.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mcp_fake_ops import LEAKY_NUMBER, FakeOps
from mcp_support import ClientFactory, error_text, everything_text, structured

from engine.ops import JournalWriteError
from engine.views import Explanation, SearchHit

SECRET = "SuperSecretValue123"
HOSTILE = "Eve\x1b[31mil\u202eNUL\x00[red]x"
RAW = ("\x1b", "\u202e", "\x00")


class HostileOps(FakeOps):
    async def search(
        self, query: str, *, tenant_id: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        return [SearchHit("alpha", "person", "p-eve", f"Zyxo {HOSTILE}", "student", {})]

    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        return Explanation(
            tenant=tenant_id,
            record_type=record_type,
            key=key,
            label=f"Zyxo {HOSTILE}",
            source_record={"familyName": HOSTILE},
            findings=(),
            desired={"microsoft": {"user": {"displayName": f"Zyxo {HOSTILE}"}}},
            observed={},
            operations=(),
            summary=f"Zyxo {HOSTILE} has no account.",
        )


async def test_refused_arguments_are_named_without_their_values(
    fake: FakeOps, connect: ClientFactory
) -> None:
    async with connect(fake) as client:
        for name, args in (
            ("list_runs", {"tenant": "alpha", "limit": f"{SECRET} {LEAKY_NUMBER}"}),
            ("get_run", {"run_id": SECRET}),
            ("find_person", {"query": "x", "tenant": LEAKY_NUMBER}),  # query too short
            ("explain_record", {"tenant": "alpha", "record_type": SECRET, "key": LEAKY_NUMBER}),
        ):
            result = await client.call_tool(name, args)
            text = error_text(result)
            everything = everything_text(result)
            assert SECRET not in everything and LEAKY_NUMBER not in everything, everything
            assert "invalid arguments" in text
            assert "input_value" not in text


async def test_an_unknown_tenant_is_echoed_scrubbed(fake: FakeOps, connect: ClientFactory) -> None:
    async with connect(fake) as client:
        result = await client.call_tool("list_runs", {"tenant": f"{HOSTILE} {LEAKY_NUMBER}"})
        everything = everything_text(result)
        text = error_text(result)
        assert LEAKY_NUMBER not in everything
        assert not any(raw in text for raw in RAW)
        assert "\\x1b[31mil" in text and "\\u202e" in text


async def test_answers_show_control_characters_written_out(connect: ClientFactory) -> None:
    async with connect(HostileOps()) as client:
        for name, args in (
            ("find_person", {"query": "zyxo"}),
            ("explain_record", {"tenant": "alpha", "record_type": "person", "key": "p-eve"}),
        ):
            result = await client.call_tool(name, args)
            texts = [json.loads(block.text) for block in result.content if block.type == "text"]
            for answer in (structured(result), *texts):
                values = _strings(answer)
                assert any("Zyxo" in v for v in values)
                assert not any(raw in v for v in values for raw in RAW)
                shown = " ".join(values)
                assert "\\x1b[31mil" in shown and "\\u202e" in shown and "\\x00[red]x" in shown


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class FullDiskOps(FakeOps):
    async def runs(self, tenant_id: str, *, limit: int = 50, before: int | None = None) -> Any:
        raise JournalWriteError("disk full writing /srv/ess/ess.db; free some space and run again")


async def test_a_journal_that_cannot_be_written_is_named(connect: ClientFactory) -> None:
    async with connect(FullDiskOps()) as client:
        text = error_text(await client.call_tool("list_runs", {"tenant": "alpha"}))
        assert "disk full writing /srv/ess/ess.db" in text


async def test_a_cursor_nested_too_deeply_is_refused_like_any_foreign_cursor(
    fake: FakeOps, connect: ClientFactory
) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode().rstrip("=")
    async with connect(fake) as client:
        result = await client.call_tool("list_runs", {"tenant": "alpha", "cursor": cursor})
        assert "The cursor is not one this tool returned" in error_text(result)
