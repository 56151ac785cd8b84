"""``ess person export`` and ``ess person forget``: a data subject's requests."""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops

KeyArg = Annotated[
    str,
    typer.Argument(
        help="The person's source id, account name or e-mail address, or personnummer "
        "(matched through its keyed hash; never stored or printed)."
    ),
]


def person_export(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: KeyArg,
) -> None:
    """Everything ESS holds about one person, as one JSON document (audited)."""
    emit_json(with_ops(ctx, lambda ops: ops.person_export(tenant, key)))


def person_forget(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: KeyArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Remove what the journal holds about one person who has left (audited; the targets are
    not touched). Refused (exit 3) while the source lists them or a target holds their
    account."""
    done = with_ops(ctx, lambda ops: ops.person_forget(tenant, key))
    if as_json:
        emit_json(done)
        return
    console = out()
    console.print(f"forgotten in {done.tenant} (found by {done.found_by}); audited as {done.ref}")
    for what, n in done.removed.items():
        console.print(f"  {n:6} {what}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="person",
        help="Data subject requests: what ESS holds about one person.",
        no_args_is_help=True,
    )
    group.command("export")(person_export)
    group.command("forget")(person_forget)
    app.add_typer(group)
