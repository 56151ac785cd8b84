"""``ess password reset``: a new initial password for one person's accounts, handed over
encrypted like a run's lists (never printed)."""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops
from console.cli_person import KeyArg


def password_reset(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: KeyArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Give one person's accounts new initial passwords (changed at first sign-in), written
    encrypted to the tenant's [hand_over] staff member; audited. Exit 1 when any failed."""
    done = with_ops(ctx, lambda ops: ops.password_reset(tenant, key))
    if as_json:
        emit_json(done)
    else:
        console = out()
        for target, account in done.accounts:
            console.print(f"new initial password for {account} ({target})")
        for path in done.files:
            console.print(f"  encrypted list: {path}")
        for problem in done.problems:
            console.print(f"[red]failed:[/red] {problem}")
    if done.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="password",
        help="Initial passwords (a tenant with first_sign_in = passwords).",
        no_args_is_help=True,
    )
    group.command("reset")(password_reset)
    app.add_typer(group)
