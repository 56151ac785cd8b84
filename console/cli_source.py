"""``ess source rekey``, ``ess source holds`` and ``ess source release``: moving a tenant
from one source to another, and the records that move left held."""

from __future__ import annotations

from typing import Annotated

import typer

from console import render
from console.cli_common import emit_json, out, with_ops
from console.cli_errors import CliError, ExitCode

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
RECORD_TYPES = ("person", "group", "school")


def rekey(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the mapping and the unmatched; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move the tenant from the source in [tenants.NAME.rekey] `from` to its source now:
    match records by the configured keys and move the journal to the new ids, so targets
    see no removal and no create. Unmatched records are held, never removed."""
    report = with_ops(ctx, lambda ops: ops.source_rekey(tenant, dry_run=dry_run))
    if as_json:
        emit_json(report)
    else:
        out().print(render.rekey_report(report))
    if report.unmatched:
        raise typer.Exit(int(ExitCode.PARTIAL))


def holds(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    as_json: JsonOpt = False,
) -> None:
    """List the records no run removes until they are released (left by a rekey)."""
    rows = with_ops(ctx, lambda ops: ops.source_holds(tenant), read_only=True)
    if as_json:
        emit_json(rows)
    elif rows:
        out().print(render.holds_table(rows))
    else:
        out().print("no held records")


def release(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    records: Annotated[
        list[str] | None,
        typer.Argument(help="Held records as TYPE:ID (person:..., group:..., school:...)."),
    ] = None,
    release_all: Annotated[bool, typer.Option("--all", help="Release every hold.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Release holds: the next run retires what the source no longer lists."""
    if bool(records) == release_all:
        raise CliError("name the held records (TYPE:ID) or give --all, not both", ExitCode.USAGE)
    keys: list[tuple[str, str]] | None = None
    if records:
        keys = []
        for record in records:
            rtype, sep, key = record.partition(":")
            if not sep or rtype not in RECORD_TYPES or not key:
                raise CliError(
                    f"{record!r} is not TYPE:ID with TYPE one of {', '.join(RECORD_TYPES)}",
                    ExitCode.USAGE,
                )
            keys.append((rtype, key))
    result = with_ops(ctx, lambda ops: ops.source_release(tenant, keys))
    if as_json:
        emit_json(result)
    else:
        out().print(result.message)
    if not result.ok:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(source: typer.Typer) -> None:
    source.command("rekey")(rekey)
    source.command("holds")(holds)
    source.command("release")(release)
