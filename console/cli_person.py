"""``ess person export``: everything ESS holds about one person, for a data subject's request."""

from __future__ import annotations

from typing import Annotated

import typer

from console.cli_common import emit_json, with_ops


def person_export(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    key: Annotated[
        str,
        typer.Argument(
            help="The person's source id, account name or e-mail address, or personnummer "
            "(matched through its keyed hash; never stored or printed)."
        ),
    ],
) -> None:
    """Everything ESS holds about one person, as one JSON document (audited)."""
    emit_json(with_ops(ctx, lambda ops: ops.person_export(tenant, key)))


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="person",
        help="Data subject requests: what ESS holds about one person.",
        no_args_is_help=True,
    )
    group.command("export")(person_export)
    app.add_typer(group)
