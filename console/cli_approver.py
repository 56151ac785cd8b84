"""``ess approver``: the customer approvers of gold tenants and their keys.

``keygen`` and ``sign`` are for the approver, on their own machine: they need no ess.toml and
touch no journal, and the private key never has to reach the ESS host. ``add``, ``remove`` and
``list`` are for the operator, and every change is audited.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops
from console.cli_errors import CliError
from console.cli_runs import JsonOpt
from engine.approval import ApprovalKeyError, new_private_key, sign


def approver_keygen(
    key_file: Annotated[
        Path, typer.Argument(help="Where to write the new private key (PEM, mode 0600).")
    ],
) -> None:
    """Make an approver key pair (on the approver's machine): writes the private key, prints
    the public key to give the operator for `ess approver add`."""
    pem, public = new_private_key()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{key_file} already exists; keep it, or choose another file") from None
    except OSError as exc:
        raise CliError(f"cannot write {key_file}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    typer.echo(public)


def approver_sign(
    key_file: Annotated[Path, typer.Option("--key", help="The approver's private key (PEM).")],
    challenge_file: Annotated[
        Path | None,
        typer.Argument(
            help="The challenge as `ess elevation challenge` printed it (- or none: stdin)."
        ),
    ] = None,
) -> None:
    """Sign a challenge with the approver's key (on the approver's machine); prints the
    signature for `ess elevation approve --signature`. Read the challenge before signing it."""
    try:
        pem = key_file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {key_file}: {exc.strerror}") from None
    if challenge_file is None or str(challenge_file) == "-":
        text = sys.stdin.read()
    else:
        try:
            text = challenge_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {challenge_file}: {exc}") from None
    if not text.startswith("ESS elevation approval v1\n"):
        raise CliError("that is not an ESS elevation challenge (its first line is wrong)")
    try:
        typer.echo(sign(pem, text))
    except ApprovalKeyError as exc:
        raise CliError(f"{key_file}: {exc}") from None


def approver_add(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    name: Annotated[str, typer.Argument(help="The approver's name (e.g. rektor@kommun.se).")],
    public_key: Annotated[str, typer.Argument(help="Their public key from `approver keygen`.")],
    as_json: JsonOpt = False,
) -> None:
    """Enrol a customer approver's public key (audited; tell the customer's contact)."""
    view = with_ops(ctx, lambda ops: ops.add_approver(tenant, name, public_key))
    if as_json:
        emit_json(view)
    else:
        out().print(f"approver {view.name} of {view.tenant} enrolled, key {view.public_key}")


def approver_remove(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    name: Annotated[str, typer.Argument(help="The approver's name.")],
) -> None:
    """Remove an approver's key (audited): their signatures approve nothing from now on."""
    with_ops(ctx, lambda ops: ops.remove_approver(tenant, name))
    out().print(f"approver {name} of {tenant} removed")


def approver_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="Only this tenant.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The enrolled approvers and their public keys."""
    rows = with_ops(ctx, lambda ops: ops.approvers(tenant))
    if as_json:
        emit_json(rows)
        return
    for a in rows:
        out().print(
            f"{a.tenant}  {a.name}  {a.public_key}  (by {a.enrolled_by}, {a.enrolled_at:%Y-%m-%d})"
        )
    if not rows:
        out().print("no approvers enrolled")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="approver",
        help="Customer approvers of gold tenants: their keys, and signing a challenge.",
        no_args_is_help=True,
    )
    group.command("keygen")(approver_keygen)
    group.command("sign")(approver_sign)
    group.command("add")(approver_add)
    group.command("remove")(approver_remove)
    group.command("list")(approver_list)
    app.add_typer(group)
