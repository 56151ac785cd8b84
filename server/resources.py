"""Resources: tenants, one tenant, one run and its log, as JSON (the log as text)."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import BaseModel

from engine.ops import NotFound, OpsError
from server.models import (
    EventOut,
    OperationCountOut,
    RunDetailOut,
    from_view,
    run_out,
    tenant_out,
)
from server.runtime import Runtime
from server.scrub import scrub, scrub_text

MAX_LOG_LINES = 500
T = TypeVar("T")


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _run_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ResourceNotFoundError(f"run id must be a number, not {scrub_text(text)!r}") from None


async def _guarded(awaitable: Awaitable[T]) -> T:
    """Await an ops query; its errors become resource errors with a scrubbed message."""
    try:
        return await awaitable
    except NotFound as exc:
        raise ResourceNotFoundError(scrub_text(str(exc))) from None
    except OpsError as exc:
        raise ResourceError(scrub_text(str(exc))) from None


def register(mcp: MCPServer[Any], rt: Runtime, served: frozenset[str]) -> None:
    """Tenants and runs with the status toolset; the run log with the logs toolset."""
    if "status" in served:
        _register_status(mcp, rt)
    if "logs" in served:
        _register_log(mcp, rt)


def _register_status(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.resource("ess://tenants", name="tenants", mime_type="application/json")
    async def tenants() -> str:
        """Every tenant with its health, trouble first (as list_tenants, unpaged)."""
        rows = await _guarded(rt.ops.tenants())
        return _json([tenant_out(t).model_dump(mode="json") for t in rows])

    @mcp.resource("ess://tenants/{tenant_id}", name="tenant", mime_type="application/json")
    async def tenant(tenant_id: str) -> str:
        """One tenant: health, schedule, time zone and settings (secrets as references)."""
        detail = await _guarded(rt.ops.tenant(tenant_id))
        return _json(
            {
                "tenant": tenant_out(detail.health).model_dump(mode="json"),
                "schedule": detail.schedule,
                "timezone": detail.timezone,
                "config": scrub(detail.config),
            }
        )

    @mcp.resource("ess://runs/{run_id}", name="run", mime_type="application/json")
    async def run(run_id: str) -> str:
        """One run: status, operation counts, the guard's verdict and its key events."""
        detail = await _guarded(rt.ops.run(_run_id(run_id)))
        out = RunDetailOut(
            run=run_out(detail.summary),
            operations=[from_view(OperationCountOut, c) for c in detail.operations],
            findings=detail.findings,
            guard=scrub(detail.guard),
            timeline=[from_view(EventOut, e) for e in detail.timeline],
            next_steps=f"Read ess://runs/{detail.summary.id}/log for the full log.",
        )
        return _json(out)


def _register_log(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.resource("ess://runs/{run_id}/log", name="run-log", mime_type="text/plain")
    async def run_log(run_id: str) -> str:
        """A run's event log as text, oldest first, capped at 500 lines."""
        rows = await _guarded(rt.ops.events(_run_id(run_id), limit=MAX_LOG_LINES + 1))
        lines = [
            f"{e.at.isoformat()} {e.level.upper():7} {scrub_text(e.message)}"
            for e in rows[:MAX_LOG_LINES]
        ]
        if len(rows) > MAX_LOG_LINES:
            lines.append(
                f"... cut at {MAX_LOG_LINES} lines; use the search_run_log tool to page further."
            )
        return "\n".join(lines) + ("\n" if lines else "")
