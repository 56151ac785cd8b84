"""Commands that look: status, runs, show, failures, findings, logs, search, explain.

Each prints a rich table, or with ``--json`` exactly one JSON document on stdout for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Literal

import typer

from console import cli_export as export
from console import render
from console.cli_common import emit_json, err, out, with_ops
from console.cli_errors import CliError
from console.cli_runs import JsonOpt
from engine.display import visible_json
from engine.ops import LevelName, Ops, SeverityName
from engine.views import EventView, FindingView, OperationView, to_dict

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


LimitOpt = Annotated[
    int, typer.Option("--limit", "-n", min=1, max=10_000, help="At most this many rows.")
]
OffsetOpt = Annotated[
    int, typer.Option("--offset", min=0, help="Skip this many rows (the next page).")
]


CsvOpt = Annotated[
    bool,
    typer.Option("--csv", help="Every row (no page) as CSV on stdout, for a spreadsheet."),
]


def page_note(shown: int, offset: int, total: int, what: str) -> str | None:
    """The line that says a list is one page of a longer one, and how to see the next; None
    when the list is everything there is."""
    if offset == 0 and shown >= total:
        return None
    first, last = (offset + 1, offset + shown) if shown else (offset, offset)
    note = f"showing {what} {first}-{last} of {total}"
    if last < total:
        note += f"; `--offset {last}` shows the next page"
    return note


def say_page(note: str | None, as_json: bool) -> None:
    """A page note goes after the table, or to stderr beside JSON so stdout stays one document."""
    if note is None:
        return
    if as_json:
        err().print(note)
    else:
        out().print(note)


def failures(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Only this tenant.")] = None,
    limit: LimitOpt = 200,
    offset: OffsetOpt = 0,
    by_cause: Annotated[
        bool, typer.Option("--by-cause", help="Group by cause, with counts and a key for each.")
    ] = False,
    as_csv: CsvOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Failed, dead and blocked items still open, with advice; says "N of M" when cut.
    --by-cause groups them (target, action, kind, status, reason) with counts."""
    if as_csv:
        rows_all = with_ops(
            ctx, lambda ops: export.every_page(lambda n, k: ops.failures(tenant, limit=n, offset=k))
        )
        typer.echo(export.failures_csv(rows_all), nl=False)
        return
    if by_cause:
        if tenant is None:
            raise CliError("--by-cause needs a TENANT")
        causes = with_ops(ctx, lambda ops: ops.failure_causes(tenant))
        if as_json:
            emit_json([{"key": c.key, **to_dict(c)} for c in causes])
        else:
            out().print(render.causes_table(causes) if causes else "no open failures")
        return

    async def work(ops: Ops) -> tuple[list[OperationView], int]:
        rows = await ops.failures(tenant, limit=limit, offset=offset)
        return rows, await ops.count_failures(tenant)

    rows, total = with_ops(ctx, work)
    if as_json:
        emit_json(rows)
    else:
        out().print(render.operations_table(rows) if rows else "no open failures")
    say_page(page_note(len(rows), offset, total, "items"), as_json)


def findings(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    run: Annotated[int | None, typer.Option("--run", help="Findings of this run.")] = None,
    severity: Annotated[
        SeverityName | None, typer.Option("--severity", help="Only this severity.")
    ] = None,
    limit: LimitOpt = 200,
    offset: OffsetOpt = 0,
    as_csv: CsvOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Data-quality findings of the tenant's latest read, or of one run; "N of M" when cut."""
    if as_csv:
        rows_all = with_ops(
            ctx,
            lambda ops: export.every_page(
                lambda n, k: ops.findings(tenant, run_id=run, severity=severity, limit=n, offset=k)
            ),
        )
        typer.echo(export.findings_csv(rows_all), nl=False)
        return

    async def work(ops: Ops) -> tuple[list[FindingView], int]:
        rows = await ops.findings(tenant, run_id=run, severity=severity, limit=limit, offset=offset)
        return rows, await ops.count_findings(tenant, run_id=run, severity=severity)

    rows, total = with_ops(ctx, work)
    if as_json:
        emit_json(rows)
    else:
        out().print(render.findings_table(rows) if rows else "no findings")
    say_page(page_note(len(rows), offset, total, "findings"), as_json)


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
    level: Annotated[LevelName | None, typer.Option("--level", help="Only this level.")] = None,
    grep: Annotated[str | None, typer.Option("--grep", help="Only lines containing this.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A run's event log; --follow tails a live run until it ends (JSON lines with --json)."""

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
            summary = (await ops.run(run)).summary
            finished = summary.status != "running" and summary.finished_at is not None
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
