"""``ess target check``: a target's sign-in, permissions, domain and licences before a run.

Each missing piece is one line naming its fix; the command exits 1 when something is missing,
so a first-night checklist (or a monitoring job) can run it as is.
"""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops
from console.cli_errors import ExitCode
from engine.views import TargetCheck

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
_MARK = {"ok": "ok", "missing": "MISSING", "skipped": "skipped"}


def check_lines(checks: list[TargetCheck]) -> list[str]:
    """The report as plain lines: one per target, then one per item checked."""
    lines: list[str] = []
    for c in checks:
        verdict = f"{c.missing} missing" if c.missing else "nothing missing"
        lines.append(f"{c.tenant} / {c.target} ({c.type}): {verdict}")
        for i in c.items:
            line = f"  {_MARK.get(i.status, i.status):8} {i.item}"
            if i.detail:
                line += f": {i.detail}"
            if i.fix and i.status == "missing":
                line += f" -> fix: {i.fix}"
            lines.append(line)
    return lines


def check(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    target: Annotated[
        str | None, typer.Argument(help="The target's table key; all targets when left out.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign in to the tenant's targets and check the permissions, domain and licences the
    configuration needs; writes nothing. Exit 1 when something is missing."""
    checks = with_ops(ctx, lambda ops: ops.target_check(tenant, target))
    if as_json:
        emit_json(checks)
    else:
        console = out()
        for line in check_lines(checks) or [f"{tenant} has no targets to check"]:
            console.print(line, soft_wrap=True)
    if any(c.missing for c in checks):
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(target_app: typer.Typer) -> None:
    target_app.command("check")(check)
