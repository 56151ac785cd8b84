"""``ess worker``: a hosted worker that runs tenants' runs from the PostgreSQL queue."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from typing import Annotated

import typer

from console.cli_common import out, state
from console.cli_errors import CliError
from engine.config import LoadedConfig, load
from engine.journal_store import open_configured
from engine.monitoring import MetricsServer, Monitor, keep_fresh
from engine.ops import os_user
from engine.tenant_scope import operator_scope


def worker(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="The worker's name (default: host and pid).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs of different tenants at once.")
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            metavar="PORT",
            help="Serve /metrics and /healthz here (default: [metrics] worker_port; unset: none).",
        ),
    ] = None,
) -> None:
    """Run queued tenant runs until Ctrl-C (hosted mode; the journal on PostgreSQL)."""
    # procrastinate is imported here only: it costs every other command most of a second
    from engine.workers import Workers, WorkersError

    cfg = load(state(ctx).config)
    try:
        workers = Workers(cfg)
    except WorkersError as exc:
        raise CliError(str(exc)) from None
    label = name or f"{socket.gethostname()}-{os.getpid()}"
    port = metrics_port or cfg.config.metrics.worker_port

    async def go() -> None:
        await workers.install()
        async with workers.app.open_async(), _metrics(cfg, port, label):
            out().print(f"worker {label}: waiting for runs", soft_wrap=True)
            await workers.run_worker(name=label, concurrency=concurrency)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@contextlib.asynccontextmanager
async def _metrics(cfg: LoadedConfig, port: int | None, label: str) -> AsyncIterator[None]:
    """``/metrics`` and ``/healthz`` of this worker while it runs: the journal's numbers, the
    targets' HTTP traffic of the runs this process made, and whether the journal takes a write
    (the heartbeat row is the worker's own)."""
    if port is None:
        yield
        return
    settings = cfg.config.metrics
    journal = await open_configured(cfg)
    monitor = Monitor(
        journal,
        cfg.journal_path,
        process=f"worker {label}",
        missed_run_margin_s=settings.missed_run_margin_s,
        tenants=operator_scope(cfg.config, os_user()[0]),
    )
    try:
        served = MetricsServer(monitor, settings.host, port).start()
    except OSError as exc:
        await journal.close()
        raise CliError(
            f"cannot serve metrics on {settings.host}:{port} ([metrics] worker_port or "
            f"--metrics-port): {exc.strerror or exc}"
        ) from None
    out().print(f"worker {label}: metrics on http://{settings.host}:{port}/metrics")
    stop = asyncio.Event()
    task = asyncio.create_task(keep_fresh(monitor, stop))
    try:
        yield
    finally:
        stop.set()
        await task
        served.stop()
        await journal.close()


def register(app: typer.Typer) -> None:
    app.command()(worker)
