"""``ess worker``: a hosted worker that runs tenants' runs from the PostgreSQL queue."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Annotated

import typer

from console.cli_common import out, state
from console.cli_errors import CliError
from engine.config import load
from engine.workers import Workers, WorkersError


def worker(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="The worker's name (default: host and pid).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs of different tenants at once.")
    ] = 1,
) -> None:
    """Run queued tenant runs until Ctrl-C (hosted mode; the journal on PostgreSQL)."""
    cfg = load(state(ctx).config)
    try:
        workers = Workers(cfg)
    except WorkersError as exc:
        raise CliError(str(exc)) from None
    label = name or f"{socket.gethostname()}-{os.getpid()}"

    async def go() -> None:
        await workers.install()
        async with workers.app.open_async():
            out().print(f"worker {label}: waiting for runs", soft_wrap=True)
            await workers.run_worker(name=label, concurrency=concurrency)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


def register(app: typer.Typer) -> None:
    app.command()(worker)
