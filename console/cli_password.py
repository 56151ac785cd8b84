"""``ess password reset``: a new initial password for one person's accounts, handed over
encrypted like a run's lists (never printed)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from console.cli_common import emit_json, err, out, with_ops
from console.cli_person import KeyArg


def password_reset(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: KeyArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
    show: Annotated[
        bool,
        typer.Option(
            "--show",
            help="Show the new password once on this terminal instead of writing a list "
            "(only for an OS account in hand_over.show_to; never into a pipe or file).",
        ),
    ] = False,
) -> None:
    """Give one person's accounts new initial passwords (changed at first sign-in), written
    encrypted to the tenant's [hand_over] staff member; audited. Exit 1 when any failed."""
    if show and (as_json or not sys.stdout.isatty()):
        err().print("--show writes to a terminal only: not with --json, a pipe or a file")
        raise typer.Exit(2)
    done = with_ops(ctx, lambda ops: ops.password_reset(tenant, key, show=show))
    if show:
        console = out()
        for item in done.shown:
            console.print(f"{item.account} ({item.target}): {item.password}")
        console.print("shown once: it is not kept; the account must change it at first sign-in")
    elif as_json:
        emit_json(done)
    else:
        console = out()
        for target, account in done.accounts:
            console.print(f"new initial password for {account} ({target})")
        for path in done.files:
            console.print(f"  encrypted list: {path}")
    if not as_json:
        for problem in done.problems:
            err().print(f"failed: {problem}", markup=False)
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
