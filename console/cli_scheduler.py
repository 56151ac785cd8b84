"""``ess scheduler``: run each tenant when its schedule says, with a live table of what is next.

The scheduling is the engine's (:func:`engine.scheduler.run_scheduler`); this command shows it:
every tenant, its schedule, its next run and the latest thing that happened to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from console import render
from console.cli_common import out, state
from console.cli_errors import CliError, ExitCode
from engine.config import LoadedConfig, load
from engine.display import visible
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


LEVEL = {"failed": logging.ERROR, "skipped": logging.WARNING}


def event_line(event: SchedulerEvent) -> str:
    """One logfmt line: ``event=finished tenant=alpha msg="alpha: run 7 succeeded"``."""
    text = visible(event.message, newlines=False).replace("\\", "\\\\").replace('"', '\\"')
    return f'event={event.kind} tenant={event.tenant or "-"} msg="{text}"'


def event_logger(log_file: Path | None, to_stdout: bool) -> logging.Logger:
    """Structured lines for a service: stdout (journald, a redirected file) and/or a rotating
    file (10 MB, five kept)."""
    logger = logging.getLogger("ess.scheduler")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    form = logging.Formatter("%(asctime)s level=%(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    handlers: list[logging.Handler] = []
    if to_stdout:
        handlers.append(logging.StreamHandler(sys.stdout))
    if log_file is not None:
        try:
            handlers.append(
                RotatingFileHandler(log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
            )
        except OSError as exc:
            raise CliError(f"cannot write the log file {log_file}: {exc.strerror}") from None
    for handler in handlers:
        handler.setFormatter(form)
        logger.addHandler(handler)
    return logger


def scheduler(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run every scheduled tenant once now, then stop.")
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Also write structured lines to this rotating file."),
    ] = None,
    hosted: Annotated[
        bool,
        typer.Option(
            "--hosted",
            help="Queue each tenant's runs for `ess worker` (journal on PostgreSQL) instead "
            "of running them here.",
        ),
    ] = False,
) -> None:
    """Run tenants on their schedules until Ctrl-C, showing each one's next run (a live table
    on a terminal; structured lines otherwise, as under a service manager)."""
    st = state(ctx)
    cfg = load(st.config)
    latest: dict[str, SchedulerEvent] = {}
    failed: list[SchedulerEvent] = []
    on_terminal = sys.stdout.isatty()
    logger = event_logger(log_file, to_stdout=not on_terminal or hosted)

    def record(event: SchedulerEvent) -> None:
        if event.tenant is not None and event.kind != "waiting":
            latest[event.tenant] = event
        if event.kind == "failed":
            failed.append(event)
        logger.log(LEVEL.get(event.kind, logging.INFO), event_line(event))

    def on_event_for(live: Live) -> Callable[[SchedulerEvent], None]:
        def on_event(event: SchedulerEvent) -> None:
            record(event)
            live.update(board(cfg, latest), refresh=True)

        return on_event

    if hosted:
        # procrastinate is imported here only: it costs every other command most of a second
        from engine.workers import Workers, WorkersError, run_hosted_scheduler

        try:
            workers = Workers(cfg)
        except WorkersError as exc:
            raise CliError(str(exc)) from None

        async def queue() -> None:
            await workers.install()
            await run_hosted_scheduler(workers, record, once=once)

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(queue())
        return
    if on_terminal:
        live = Live(board(cfg, latest), console=out(), auto_refresh=False)
        with live, contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_scheduler(cfg.path, actor=st.actor, on_event=on_event_for(live), once=once)
            )
    else:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_scheduler(cfg.path, actor=st.actor, on_event=record, once=once))
    if failed:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(app: typer.Typer) -> None:
    app.command()(scheduler)
