"""``ess notify test`` and ``ess notify send``: the tenant's notification channels.

The scheduler delivers the outbox on its own; ``send`` does it now (for an installation that
runs ``ess sync`` from its own scheduler), and ``test`` proves each channel before the first
night.
"""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops
from console.cli_errors import ExitCode

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


def check_channels(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant whose channels to test.")],
    as_json: JsonOpt = False,
) -> None:
    """Send a test message to each of the tenant's channels now; exit 1 if one fails."""
    results = with_ops(ctx, lambda ops: ops.notify_test(tenant))
    if as_json:
        emit_json(results)
    else:
        console = out()
        for r in results:
            answer = "ok" if r.ok else f"FAILED: {r.error}"
            console.print(f"{r.channel} ({r.type}): {answer}   [{r.key}]", soft_wrap=True)
    if not all(r.ok for r in results):
        raise typer.Exit(int(ExitCode.PARTIAL))


def send(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Deliver the notifications that are due now; exit 1 if a delivery failed."""
    report = with_ops(ctx, lambda ops: ops.deliver_notices())
    if as_json:
        emit_json(report)
    else:
        out().print(
            f"{report.delivered} delivered, {report.failed} failed, {report.given_up} given up, "
            f"{report.waiting} waiting for a retry",
            soft_wrap=True,
        )
    if report.failed:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(notify_app: typer.Typer) -> None:
    notify_app.command(name="test")(check_channels)
    notify_app.command()(send)
