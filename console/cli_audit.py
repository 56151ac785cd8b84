"""``ess audit``: the audit log (``list``), its hash chain (``verify``) and its head (``head``).

The head is what to keep outside the ESS host: ``verify --head`` then finds a row that was
edited, removed or cut from the end since, even by someone who could rewrite the whole journal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from console import render
from console.cli_common import emit_json, err, out, with_ops
from console.cli_errors import CliError, ExitCode
from console.cli_runs import JsonOpt
from engine.ops import AuditHead, Ops


def audit_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Only this tenant.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Who did what, allowed or refused, newest first."""
    rows = with_ops(ctx, lambda ops: ops.audit(tenant, limit=limit))
    if as_json:
        emit_json(rows)
    else:
        out().print(render.audit_table(rows) if rows else "no audit entries")


def audit_head(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The newest row's id and hash (ID:HASH): keep it outside this host to verify against;
    the scheduler also sends it to the tenants' channels (``audit_head``) once a day."""

    async def both(ops: Ops) -> tuple[AuditHead | None, datetime | None]:
        return await ops.audit_head(), await ops.audit_head_sent()

    head, sent = with_ops(ctx, both)
    if as_json:
        emit_json(
            {"head": str(head) if head else None, "last_sent": sent.isoformat() if sent else None}
        )
        return
    out().print(str(head) if head else "no audit entries yet")
    # the note goes to stderr: a script reads the head alone from stdout
    err().print(
        f"last sent out: {render.when(sent)}"
        if sent
        else "not sent out yet (the scheduler sends it to channels that take audit_head)"
    )


def audit_verify(
    ctx: typer.Context,
    head: Annotated[
        str | None,
        typer.Option("--head", help="A head seen outside this host (ID:HASH from `audit head`)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the hash chain of the audit log (and that --head is still in it, unchanged);
    exit code 1 when it is broken."""
    known: AuditHead | None = None
    if head is not None:
        try:
            known = AuditHead.parse(head)
        except ValueError as exc:
            raise CliError(f"--head: {exc}") from None
    verdict = with_ops(ctx, lambda ops: ops.verify_audit(known))
    if as_json:
        emit_json(
            {
                "ok": verdict.ok,
                "checked": verdict.checked,
                "head": str(verdict.head) if verdict.head else None,
                "problem": verdict.problem,
            }
        )
    elif verdict.ok:
        against = f", and head {known.id} is in it unchanged" if known else ""
        out().print(f"the audit log holds: {verdict.checked} rows chained{against}")
        if verdict.head:
            out().print(f"head {verdict.head}")
    else:
        out().print(f"the audit log is BROKEN after {verdict.checked} good rows: {verdict.problem}")
    if not verdict.ok:
        raise typer.Exit(ExitCode.PARTIAL)


class _AuditGroup(TyperGroup):
    """``ess audit`` alone lists the log; the old form ``ess audit TENANT`` still lists that
    tenant's, with a deprecation note, for one release (docs/cli.md)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h")):
            args = ["list", *args]  # `ess audit [--json]`: every tenant's log
        elif not args[0].startswith("-") and args[0] not in self.commands:
            typer.echo(
                "note: `ess audit TENANT` is deprecated and goes in the next release; "
                "use `ess audit list TENANT`",
                err=True,
            )
            args = ["list", *args]
        return list(super().parse_args(ctx, args))


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(
        name="audit",
        cls=_AuditGroup,
        help="The audit log: who did what (list), its hash chain (verify) and head (head).",
    )
    audit_app.command("list")(audit_list)
    audit_app.command("verify")(audit_verify)
    audit_app.command("head")(audit_head)
    app.add_typer(audit_app)
