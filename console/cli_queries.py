"""Commands that look: status, runs, show, failures, findings, logs, search, explain.

Each prints a rich table, or with ``--json`` exactly one JSON document on stdout for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Literal

import typer

from console import render
from console.cli_common import emit_json, out, with_ops
from console.cli_runs import JsonOpt
from engine.display import visible_json
from engine.ops import Ops
from engine.views import EventView, to_dict

FOLLOW_POLL_S = 1.0
EVENT_PAGE = 500


def status(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="One tenant in detail.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every tenant's health (trouble first), or one tenant in detail."""
    if tenant is None:
        rows = with_ops(ctx, lambda ops: ops.tenants())
        if as_json:
            emit_json(rows)
        else:
            out().print(render.tenants_table(rows) if rows else "no tenants in the configuration")
        return
    detail = with_ops(ctx, lambda ops: ops.tenant(tenant))
    if as_json:
        emit_json(detail)
    else:
        out().print(render.tenant_detail(detail))


def runs(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """A tenant's runs, newest first."""
    rows = with_ops(ctx, lambda ops: ops.runs(tenant, limit=limit))
    if as_json:
        emit_json(rows)
    else:
        out().print(render.runs_table(rows) if rows else f"{tenant} has not run yet")


def show(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(help="Run id.")],
    as_json: JsonOpt = False,
) -> None:
    """One run: counts by status, action and kind, the guard's verdict, its timeline."""
    detail = with_ops(ctx, lambda ops: ops.run(run))
    if as_json:
        emit_json(detail)
    else:
        out().print(render.run_detail(detail))


def failures(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Only this tenant.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Failed, dead and blocked items still open, with advice."""
    rows = with_ops(ctx, lambda ops: ops.failures(tenant, limit=limit))
    if as_json:
        emit_json(rows)
    else:
        out().print(render.operations_table(rows) if rows else "no open failures")


def findings(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    run: Annotated[int | None, typer.Option("--run", help="Findings of this run.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="blocking or warning.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Data-quality findings of the tenant's latest read, or of one run."""
    rows = with_ops(
        ctx, lambda ops: ops.findings(tenant, run_id=run, severity=severity, limit=limit)
    )
    if as_json:
        emit_json(rows)
    else:
        out().print(render.findings_table(rows) if rows else "no findings")


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Name, eduPersonPrincipalName, email or id.")],
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Find a person or group across tenants."""
    rows = with_ops(ctx, lambda ops: ops.search(query, tenant_id=tenant, limit=limit))
    if as_json:
        emit_json(rows)
    else:
        out().print(render.search_table(rows) if rows else "nothing found")


def explain(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    record_type: Annotated[
        Literal["person", "group", "school"], typer.Argument(help="person, group or school.")
    ],
    key: Annotated[str, typer.Argument(help="The record's source id (see `ess search`).")],
    as_json: JsonOpt = False,
) -> None:
    """One record from source to target: where it is and what happened to it."""
    ex = with_ops(ctx, lambda ops: ops.explain(tenant, record_type, key))
    if as_json:
        emit_json(ex)
    else:
        out().print(render.explanation(ex))


def logs(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(help="Run id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")
    ] = False,
    level: Annotated[str | None, typer.Option("--level", help="Only this level.")] = None,
    grep: Annotated[str | None, typer.Option("--grep", help="Only lines containing this.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A run's event log; ``--follow`` tails a live run until it ends (JSON lines with --json)."""

    def show_live(events: list[EventView]) -> None:
        for e in events:
            if as_json:
                typer.echo(visible_json(json.dumps(to_dict(e), ensure_ascii=False)), nl=True)
            else:
                out().print(render.event_line(e))

    async def read_from(ops: Ops, after: int) -> list[EventView]:
        found: list[EventView] = []
        while True:
            page = await ops.events(
                run, after_id=after, level=level, contains=grep, limit=EVENT_PAGE
            )
            found.extend(page)
            if len(page) < EVENT_PAGE:
                return found
            after = page[-1].id

    async def tail(ops: Ops) -> list[EventView]:
        after = 0
        while True:
            finished = (await ops.run(run)).summary.finished_at is not None
            fresh = await read_from(ops, after)
            show_live(fresh)
            after = fresh[-1].id if fresh else after
            if finished:
                return []
            await asyncio.sleep(FOLLOW_POLL_S)

    if follow:
        with contextlib.suppress(KeyboardInterrupt):
            with_ops(ctx, tail)
        return
    events = with_ops(ctx, lambda ops: read_from(ops, 0))
    if as_json:
        emit_json(events)
    elif events:
        console = out()
        for e in events:
            console.print(render.event_line(e))
    else:
        out().print("no events")


def register(app: typer.Typer) -> None:
    for command in (status, runs, show, failures, findings, logs, search, explain):
        app.command()(command)
