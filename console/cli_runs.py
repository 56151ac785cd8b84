"""Commands that act: sync, approve, reject, retry, skip, elevations, source check.

Policy is the facade's: each command simply asks, and a refusal comes back as
:class:`engine.ops.PolicyRefused` (exit 3), which the error mapping turns into one line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from console import render
from console.cli_common import emit_json, err, out, with_ops
from console.cli_errors import CliError, ExitCode
from engine.ops import Ops
from engine.plan_preview import PREFIX
from engine.views import CommandResult, HeldPlanView, RunSummary
from engine.views import Progress as ProgressTick

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why; kept in the audit log.")]


def summary_exit(summary: RunSummary) -> ExitCode:
    """A finished run's exit code: held (or, a dry run, would be held) 5, failed items 1, and 6
    for a run that stopped because its source could not be read or a target refused the login
    (status ``failed``)."""
    if summary.status == "held" or summary.would_be_held:
        return ExitCode.HELD
    if summary.status == "failed":
        return ExitCode.UNREACHABLE
    if summary.status == "partial":
        return ExitCode.PARTIAL
    return ExitCode.OK


class SyncProgress:
    """Rich progress bars, one per stage and target, on stderr so stdout stays clean."""

    def __init__(self) -> None:
        self.bars = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err(),
            transient=False,
        )
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.started = False

    def __call__(self, tick: ProgressTick) -> None:
        if not self.started:  # shown from the first tick, so a refusal prints one clean line
            self.bars.start()
            self.started = True
        key = (tick.stage, tick.target)
        label = f"{tick.stage:<6} {tick.target}" if tick.target else tick.stage
        if tick.message:
            label += f"  {tick.message}"
        total = tick.total if tick.total > 0 else None
        task = self.tasks.get(key)
        if task is None:
            self.tasks[key] = self.bars.add_task(label, total=total, completed=tick.done)
        else:
            self.bars.update(task, description=label, total=total, completed=tick.done)

    def stop(self) -> None:
        if self.started:
            self.bars.stop()


async def _held_plan(ops: Ops, summary: RunSummary) -> HeldPlanView | None:
    for plan in await ops.held_plans(summary.tenant):
        if plan.run_id == summary.id:
            return plan
    return None


def report_run(
    summary: RunSummary,
    held: HeldPlanView | None,
    as_json: bool,
    planned: list[str] | None = None,
) -> None:
    """Print a finished run (JSON or tables) and stop with its exit code; a dry run's JSON
    carries its planned operations item by item."""
    if as_json:
        document: dict[str, object] = {"run": summary, "held_plan": held}
        if planned is not None:
            document["planned_operations"] = planned
        emit_json(document)
    else:
        console = out()
        if summary.would_be_held:
            console.print(
                Text(
                    "A real run would be held by the guard: " + "; ".join(summary.held_reasons),
                    style="bold yellow",
                )
            )
        for line in planned or ():  # a dry run's operations, item by item, old → new
            console.print(Text(line), soft_wrap=True)
        console.print(render.run_summary(summary))
        if summary.error:
            console.print(Text(f"error: {summary.error}", style="red"))
        if summary.status == "held":
            if held is not None:
                console.print(render.held_plan(held))
            typer.echo(
                f"Nothing was applied. Look at it with `ess show {summary.id}`; apply it "
                f"with `ess approve {summary.id} --reason '...'` or drop it with "
                f"`ess reject {summary.id} --reason '...'`."
            )
        elif summary.would_be_held:
            typer.echo(
                "Nothing was applied (dry run). A real run would wait for "
                f"`ess approve`; `ess show {summary.id}` shows the guard's verdict."
            )
        elif summary_exit(summary) == ExitCode.PARTIAL:
            typer.echo(
                f"Some items did not go through: `ess failures {summary.tenant}` lists them; "
                f"`ess retry --run {summary.id}` tries them again."
            )
    code = summary_exit(summary)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def sync(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id from ess.toml.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; apply nothing.")] = False,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Only this target (repeatable).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Read the whole source, not only changes.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a tenant now: read, plan, guard, apply; shows progress and a summary."""
    bars = None if as_json else SyncProgress()

    planned: list[str] = []

    async def work(ops: Ops) -> tuple[RunSummary, HeldPlanView | None]:
        summary = await ops.sync(
            tenant, dry_run=dry_run, targets=target or None, full=full, progress=bars
        )
        held = await _held_plan(ops, summary) if summary.status == "held" else None
        if summary.dry_run:
            planned.extend(await dry_run_lines(ops, summary.id))
        return summary, held

    try:
        summary, held = with_ops(ctx, work)
    finally:
        if bars is not None:
            bars.stop()
    report_run(summary, held, as_json, planned if summary.dry_run else None)


async def dry_run_lines(ops: Ops, run_id: int) -> list[str]:
    """The dry run's operations item by item (old → new), as its run log keeps them."""
    lines: list[str] = []
    after = 0
    while True:
        events = await ops.events(run_id, after_id=after, limit=1000)
        lines += [
            e.message
            for e in events
            if e.message.startswith(PREFIX) or "more operation(s) for" in e.message
        ]
        if len(events) < 1000:
            return lines
        after = events[-1].id


def approve(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(help="The held run.")],
    reason: ReasonOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Apply a plan the guard held; shows the same progress as `ess sync`."""
    bars = None if as_json else SyncProgress()
    try:
        summary = with_ops(ctx, lambda ops: ops.approve(run, reason=reason, progress=bars))
    finally:
        if bars is not None:
            bars.stop()
    report_run(summary, None, as_json)


def report_result(result: CommandResult, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        style = "green" if result.ok else "red"
        line = Text(result.message, style=style)
        if result.run_id is not None and f"run {result.run_id}" not in result.message:
            line.append(f" (run #{result.run_id})", style="dim")
        out().print(line)
    if not result.ok:
        raise typer.Exit(int(ExitCode.PARTIAL))


def reject(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(help="The held run.")],
    reason: ReasonOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Drop a held plan; nothing of it is applied."""
    report_result(with_ops(ctx, lambda ops: ops.reject(run, reason=reason)), as_json)


CauseOpt = Annotated[
    str | None,
    typer.Option(
        "--cause",
        help="Every open failure of this cause (a key from `ess failures TENANT --by-cause`).",
    ),
]
CauseTenantOpt = Annotated[str | None, typer.Option("--tenant", help="The tenant of --cause.")]


async def _cause_items(ops: Ops, tenant: str | None, cause: str) -> list[int]:
    if tenant is None:
        raise CliError("--cause needs --tenant TENANT")
    return list(await ops.cause_items(tenant, cause))


def retry(
    ctx: typer.Context,
    op_ids: Annotated[
        list[int] | None, typer.Argument(help="Operation ids (see `ess failures`).")
    ] = None,
    run: Annotated[
        int | None,
        typer.Option("--run", help="Retry every open failed, dead or blocked item of this run."),
    ] = None,
    cause: CauseOpt = None,
    tenant: CauseTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply failed, dead or blocked items again, now: by id, a whole run, or a cause."""
    if sum((bool(op_ids), run is not None, cause is not None)) != 1:
        raise CliError("give operation ids, --run RUN or --cause KEY --tenant T (one of them)")

    async def work(ops: Ops) -> CommandResult:
        if run is not None:
            return await ops.retry_run(run)
        if cause is not None:
            return await ops.retry(await _cause_items(ops, tenant, cause))
        return await ops.retry(list(op_ids or []))

    report_result(with_ops(ctx, work), as_json)


def skip(
    ctx: typer.Context,
    op_ids: Annotated[
        list[int] | None, typer.Argument(help="Operation ids (see `ess failures`).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why; kept in the audit log.")] = "",
    cause: CauseOpt = None,
    tenant: CauseTenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop trying these items (by id, or a whole cause) until their source record changes."""
    if bool(op_ids) == (cause is not None):
        raise CliError("give operation ids or --cause KEY --tenant T (one of the two)")
    if not reason.strip():
        raise CliError("--reason must say why these items are skipped")

    async def work(ops: Ops) -> CommandResult:
        ids = await _cause_items(ops, tenant, cause) if cause is not None else list(op_ids or [])
        return await ops.skip(ids, reason=reason)

    report_result(with_ops(ctx, work), as_json)


def elevate(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why; kept in the audit log.")],
    minutes: Annotated[int, typer.Option("--minutes", min=1, max=24 * 60)] = 60,
    as_json: JsonOpt = False,
) -> None:
    """Ask for a time-boxed elevation (silver: active at once; gold: needs an approver)."""
    if not reason.strip():
        raise CliError("--reason must say why the elevation is needed")
    view = with_ops(ctx, lambda ops: ops.elevate(tenant, reason=reason, minutes=minutes))
    if as_json:
        emit_json(view)
        return
    out().print(render.elevations_table([view]))
    if view.status == "pending_approval":
        typer.echo(
            f"A customer approver must approve it: they sign the text of "
            f"`ess elevation challenge {view.id}` with their own key (`ess approver sign`), "
            f"then `ess elevation approve {view.id} --approver NAME --signature SIG`."
        )


def elevation_approve(
    ctx: typer.Context,
    elevation_id: Annotated[int, typer.Argument(help="Elevation id (see `ess elevation list`).")],
    approver: Annotated[
        str, typer.Option("--approver", help="The customer's approver, as enrolled.")
    ],
    signature: Annotated[
        str,
        typer.Option(
            "--signature", help="The approver's signature of the challenge (base64, Ed25519)."
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Approve a gold tenant's elevation with the customer approver's signature of its
    challenge; it is checked against the key enrolled for them."""
    view = with_ops(
        ctx,
        lambda ops: ops.approve_elevation(elevation_id, approver=approver, signature=signature),
    )
    if as_json:
        emit_json(view)
    else:
        out().print(render.elevations_table([view]))


def elevation_challenge(
    ctx: typer.Context,
    elevation_id: Annotated[int, typer.Argument(help="Elevation id (see `ess elevation list`).")],
) -> None:
    """The text the approver signs: bound to the elevation's id, tenant, reason and expiry.
    Printed exactly (save it to a file and hand it to the approver)."""
    text = with_ops(ctx, lambda ops: ops.elevation_challenge(elevation_id))
    sys.stdout.write(text)  # made printable by the engine; the approver signs these bytes


def elevation_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Only this tenant.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Elevations, active and past."""
    rows = with_ops(ctx, lambda ops: ops.elevations(tenant))
    if as_json:
        emit_json(rows)
    else:
        out().print(render.elevations_table(rows))


def source_check(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    full: Annotated[
        bool, typer.Option("--full", help="Read everything, not only changes.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read the tenant's source and show counts and findings; applies nothing."""
    check = with_ops(ctx, lambda ops: ops.source_check(tenant, full=full))
    if as_json:
        emit_json(check)
    else:
        out().print(render.source_check(check))
    if any(f.severity in ("blocking", "error") for f in check.findings):
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(app: typer.Typer, elevation: typer.Typer, source: typer.Typer) -> None:
    app.command()(sync)
    app.command()(approve)
    app.command()(reject)
    app.command()(retry)
    app.command()(skip)
    app.command()(elevate)
    elevation.command("approve")(elevation_approve)
    elevation.command("challenge")(elevation_challenge)
    elevation.command("list")(elevation_list)
    source.command("check")(source_check)
