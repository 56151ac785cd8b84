"""The logs toolset: one run's event log, filtered and capped."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from server.annotations import read_only
from server.models import EventOut, LogPage, from_view
from server.paging import decode_cursor, encode_cursor
from server.runtime import Runtime, ops_errors

MAX_EVENTS = 200


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(annotations=read_only("Search run log"))
    async def search_run_log(
        run_id: Annotated[int, Field(description="Run id from list_runs or get_run.")],
        contains: Annotated[
            str | None,
            Field(max_length=200, description="Only events whose message contains this text."),
        ] = None,
        level: Annotated[
            Literal["debug", "info", "warning", "error"] | None,
            Field(description="Only events at this level."),
        ] = None,
        cursor: Annotated[
            str | None,
            Field(description="next_cursor from the previous answer, for later events."),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_EVENTS, description="At most 200.")] = 50,
    ) -> LogPage:
        """Read a run's event log, oldest first, filtered by text and level.

        Use it to see what a run did and where it went wrong: narrow with level="error" or
        contains="throttl" rather than reading everything. Results are capped at `limit`
        (at most 200); the note says when more exist, and cursor=next_cursor gives the next
        events (on a running run it also follows new ones).
        Next: list_failures(tenant) for the items behind errors, get_run(run_id) for counts.
        Example: search_run_log(run_id=12, level="error", limit=20)
        """
        after = decode_cursor(cursor, "log") or 0
        with ops_errors("Call list_runs(tenant=...) to see the run ids."):
            rows = await rt.ops.events(
                run_id, after_id=after, level=level, contains=contains, limit=limit + 1
            )
        page, more = rows[:limit], len(rows) > limit
        last = page[-1].id if page else after
        return LogPage(
            events=[from_view(EventOut, e) for e in page],
            next_cursor=encode_cursor("log", last) if more else None,
            note=(
                f"Showing {len(page)} events; more match. Call again with cursor=next_cursor, "
                "or narrow with level or contains."
                if more
                else None
            ),
        )
