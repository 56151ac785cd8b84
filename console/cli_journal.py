"""``ess journal``: backup and check (the SQLite file, beside a running ESS), migrate (on-site to
hosted), export-tenant and delete-tenant (one tenant's rows, alone).

Backup and check act on the file without migrating it (see :mod:`engine.ops`), so they work
while the scheduler runs, before an upgrade, and on a journal a newer ESS wrote (which check
names).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import orjson
import typer

from console.cli_common import emit_json, out, state, with_ops
from console.cli_errors import CliError, ExitCode
from engine import ops

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
FormerOpt = Annotated[
    Path | None,
    typer.Option(
        "--former-config",
        help="A copy of ess.toml that still holds the tenant: where its files outside the "
        "journal are (inbox uploads, hand-over lists, target folders).",
    ),
]


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _say(line: str) -> None:
    """One line as it is, never wrapped (paths are long), control characters written out."""
    out().print(line, soft_wrap=True)


def backup(
    ctx: typer.Context,
    dest: Annotated[
        Path, typer.Argument(help="The backup file, or a folder to write ess-<time>.db in.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace DEST if it exists.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy the live journal to DEST with SQLite's online backup API, while runs go on."""
    done = asyncio.run(ops.journal_backup(dest, state(ctx).config, overwrite=force))
    if as_json:
        emit_json(done)
        return
    _say(
        f"backed up {done.source} to {done.path} ({_size(done.size_bytes)}, schema "
        f"{done.schema_version}, integrity ok, {done.seconds:.1f} s)"
    )


def check(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the journal's integrity and schema version; exit 1 if it is damaged."""
    found = asyncio.run(ops.journal_check(state(ctx).config))
    if as_json:
        emit_json(found)
    else:
        _say(f"journal: {found.path} ({_size(found.size_bytes)})")
        upgrade = " (older: the next command that opens it upgrades it)"
        _say(
            f"schema: {found.schema_version}, this ESS writes {found.supported_version}"
            + (upgrade if found.upgrade_pending else "")
        )
        if found.ok:
            _say("integrity: ok")
        else:
            _say(f"integrity: {len(found.integrity)} problem(s)")
            for line in found.integrity:
                _say(f"  {line}")
            _say("restore the latest backup (docs/operations.md, Backup and restore)")
    if not found.ok:
        raise typer.Exit(int(ExitCode.PARTIAL))


def migrate(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="The SQLite journal to move (default: [journal] path)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="postgresql://user@host:port/db (default: [journal] url)."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Secret reference (env:NAME, file:PATH) to the database password "
            "(default: [journal] password).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move an on-site SQLite journal into the hosted PostgreSQL journal, history and all."""
    moved = asyncio.run(
        ops.journal_migrate(source, to, password=password, config=state(ctx).config)
    )
    if as_json:
        emit_json(moved)
        return
    total = sum(moved.rows.values())
    _say(f"moved {moved.source} to {moved.destination}: {total} rows in {moved.seconds:.1f} s")
    for table, n in sorted(moved.rows.items()):
        if n:
            _say(f"  {table}: {n}")
    for table, by in sorted(moved.shifted.items()):
        _say(f"  {table} ids moved up by {by} (past the database's own)")
    _say(f"audit chain: verified, {moved.audit_rows_checked} rows")


def export_tenant(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant id.")],
    dest: Annotated[Path, typer.Argument(help="The JSON file to write (not overwritten).")],
    former_config: FormerOpt = None,
) -> None:
    """Write every row the journal holds of one tenant to a JSON file (mode 0600), with the
    files outside the journal that hold its data listed."""
    document = with_ops(ctx, lambda o: o.export_tenant(tenant, former_config))
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{dest} exists; name another file") from None
    except OSError as exc:
        raise CliError(f"cannot write {dest}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    rows = sum(len(t["rows"]) for t in document["tables"].values())
    _say(f"exported tenant {tenant}: {rows} rows to {dest}")
    for path in document["files"]["found"]:
        _say(f"  outside the journal (not copied): {path}")
    for line in document["files"]["not_reached"]:
        _say(f"  not reached: {line}")


def delete_tenant(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="The tenant id (no longer in ess.toml).")],
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking.")] = False,
    former_config: FormerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete every row of one tenant from the journal (its audit rows become tombstones),
    and with --former-config its files outside the journal."""
    also = " and its files outside the journal" if former_config else ""
    if not yes and not typer.confirm(
        f"delete every row of tenant {tenant} from the journal{also}?"
    ):
        raise typer.Exit(int(ExitCode.USAGE))
    done = with_ops(ctx, lambda o: o.delete_tenant(tenant, former_config))
    if as_json:
        emit_json(done)
        return
    _say(
        f"deleted tenant {tenant}: {sum(done.rows.values())} rows, "
        f"{done.audit_tombstoned} audit rows made tombstones"
    )
    for path in done.files_removed:
        _say(f"  removed {path}")
    for line in done.files_not_reached:
        _say(f"  not reached: {line}")


def register(journal_app: typer.Typer) -> None:
    journal_app.command()(backup)
    journal_app.command()(check)
    journal_app.command()(migrate)
    journal_app.command("export-tenant")(export_tenant)
    journal_app.command("delete-tenant")(delete_tenant)
