"""``ess journal backup`` and ``ess journal check``: the journal file, beside a running ESS.

Both act on the file without migrating it (see :mod:`engine.ops`), so they work while the
scheduler runs, before an upgrade, and on a journal a newer ESS wrote (which check names).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from console.cli_common import emit_json, out, state
from console.cli_errors import ExitCode
from engine import ops

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]


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


def register(journal_app: typer.Typer) -> None:
    journal_app.command()(backup)
    journal_app.command()(check)
