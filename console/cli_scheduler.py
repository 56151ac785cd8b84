"""``ess scheduler``: run each tenant when its schedule says, with a live table of what is next.

The scheduling is the engine's (:func:`engine.scheduler.run_scheduler`); this command shows it:
every tenant, its schedule, its next run and the latest thing that happened to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from console import render
from console.cli_common import out, state
from console.cli_errors import ExitCode
from engine.config import LoadedConfig, load
from engine.scheduler import SchedulerEvent, run_scheduler, schedule_table

EVENT_STYLE = {"started": "cyan", "finished": "green", "skipped": "yellow", "failed": "red"}


def board(cfg: LoadedConfig, latest: dict[str, SchedulerEvent]) -> Table:
    """Every tenant: its schedule, next run (in the tenant's zone) and latest scheduler event."""
    nxt = {e.tenant: e.next_run for e in schedule_table(cfg)}
    table = Table(show_edge=False, pad_edge=False)
    for column in ("tenant", "schedule", "time zone", "next run", "latest"):
        table.add_column(column, overflow="fold")
    for tid, tenant in cfg.config.tenants.items():
        event = latest.get(tid)
        table.add_row(
            Text(tid),
            Text(tenant.schedule or "by hand only", style="" if tenant.schedule else "dim"),
            Text(tenant.timezone),
            Text(render.when_in(nxt[tid], tenant.timezone) if tid in nxt else "-"),
            Text(
                f"{render.when(event.at)} {event.message}" if event else "",
                style=EVENT_STYLE.get(event.kind, "") if event else "",
            ),
        )
    return table


def scheduler(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run every scheduled tenant once now, then stop.")
    ] = False,
) -> None:
    """Run tenants on their schedules until Ctrl-C, showing each one's next run."""
    st = state(ctx)
    cfg = load(st.config)
    latest: dict[str, SchedulerEvent] = {}
    failed: list[SchedulerEvent] = []

    def on_event_for(live: Live) -> Callable[[SchedulerEvent], None]:
        def on_event(event: SchedulerEvent) -> None:
            if event.tenant is not None and event.kind != "waiting":
                latest[event.tenant] = event
            if event.kind == "failed":
                failed.append(event)
            live.update(board(cfg, latest), refresh=True)

        return on_event

    live = Live(board(cfg, latest), console=out(), auto_refresh=False)
    with live, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_scheduler(cfg.path, actor=st.actor, on_event=on_event_for(live), once=once))
    if failed:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(app: typer.Typer) -> None:
    app.command()(scheduler)
