"""Handing a run's initial passwords to the school: per-class lists, encrypted, audited.

Each class gets a CSV (for a mail merge or a spreadsheet) and a PDF (to print and cut into
slips), both encrypted with age (``pyrage``) to the public key of the one staff member named in
``[tenants.NAME.hand_over]``. Only her private key opens them; ESS never holds it, so a copy
of the folder, the journal or a backup gives nobody a password. age was chosen over OpenPGP
or S/MIME because its keys are one line each (easy to paste into ess.toml, easy to check), it
has no configuration to get wrong, and it has a maintained Python binding and small tools on
every platform (``age``, ``rage``) for the staff member to decrypt with.

The audit row of each list names the actor, the class, how many passwords, the staff member
and the file, never a password.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyrage

from engine.first_sign_in import HandOverConfig, InitialPasswords, Issued
from engine.journal import Journal

NO_CLASS = "no class"
"""The list for accounts whose class the run did not know (a person in no Klass)."""

CSV_HEADER = ("class", "name", "account", "initial password", "service")


class HandOverError(Exception):
    """The lists could not be written (a bad key, an unwritable folder)."""


@dataclass(frozen=True)
class Handed:
    """One class's list, as written: what the audit and the run log say."""

    klass: str
    count: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class PasswordReset:
    """What ``ess password reset`` did: the accounts whose new password was handed over, the
    encrypted files, and what failed (never a password)."""

    tenant: str
    accounts: tuple[tuple[str, str], ...]  # (target, account)
    files: tuple[Path, ...]
    problems: tuple[str, ...]
    shown: tuple[Issued, ...] = ()  # with --show: to be shown once, then dropped


def group_by_class(
    issued: Sequence[Issued], class_of: Mapping[str, str]
) -> dict[str, list[Issued]]:
    out: dict[str, list[Issued]] = {}
    for item in issued:
        out.setdefault(class_of.get(item.person, NO_CLASS), []).append(item)
    for items in out.values():
        items.sort(key=lambda i: (i.label.casefold(), i.account))
    return dict(sorted(out.items()))


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """A name a spreadsheet would run as a formula starts with an apostrophe instead."""
    return "'" + value if value.startswith(FORMULA) else value


def csv_bytes(klass: str, items: Sequence[Issued]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for i in items:
        writer.writerow((cell(klass), cell(i.label), cell(i.account), i.password, i.target))
    return buf.getvalue().encode("utf-8-sig")  # the BOM lets Excel read åäö


def _latin1(text: str) -> str:
    """The PDF's core font covers Latin-1 (Swedish and most Nordic names); other letters
    print as '?' rather than failing the list."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def pdf_bytes(tenant: str, klass: str, items: Sequence[Issued], when: datetime) -> bytes:
    from fpdf import FPDF  # imported here: it costs every command and run half a second

    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Initial passwords {klass}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(f"{klass}: first sign-in"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(
        0,
        6,
        _latin1(
            f"{tenant}, {when:%Y-%m-%d %H:%M} UTC. Each account must change its password "
            "at first sign-in."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    with pdf.table(col_widths=(55, 70, 45, 20), text_align="LEFT") as table:
        head = table.row()
        for title in ("Name", "Account", "Initial password", "Service"):
            head.cell(title)
        for i in items:
            row = table.row()
            for value in (i.label, i.account, i.password, i.target):
                row.cell(_latin1(value))
    return bytes(pdf.output())


def encrypt(data: bytes, public_key: str) -> bytes:
    try:
        recipient = pyrage.x25519.Recipient.from_str(public_key)
    except Exception as exc:  # pyrage raises its own error types for a malformed key
        raise HandOverError(f"hand_over.public_key is not a valid age key: {exc}") from None
    return bytes(pyrage.encrypt(data, [recipient]))


def slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-zåäöÅÄÖ_-]+", "-", text).strip("-") or "class"


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file renamed over, readable by the owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


HAND_OVER_BATCHES = ("run", "reset")
"""How a list's file name goes on after ``<tenant>-``: a run's batch or a reset's."""


def write_lists(
    tenant: str,
    batch: str,
    issued: Sequence[Issued],
    class_of: Mapping[str, str],
    config: HandOverConfig,
    folder: Path,
    now: datetime | None = None,
) -> list[Handed]:
    """Encrypt and write one CSV and one PDF per class, named ``TENANT-BATCH-CLASS``; returns
    what was written."""
    when = now or datetime.now(UTC)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HandOverError(f"hand_over.folder {folder} cannot be made: {exc}") from None
    out: list[Handed] = []
    taken: set[str] = set()
    for klass, items in group_by_class(issued, class_of).items():
        stem = f"{tenant}-{batch}-{slug(klass)}"
        n = 2
        while stem in taken:
            stem = f"{tenant}-{batch}-{slug(klass)}-{n}"
            n += 1
        taken.add(stem)
        files = (folder / f"{stem}.csv.age", folder / f"{stem}.pdf.age")
        try:
            _write(files[0], encrypt(csv_bytes(klass, items), config.public_key))
            _write(files[1], encrypt(pdf_bytes(tenant, klass, items, when), config.public_key))
        except OSError as exc:
            raise HandOverError(f"hand_over.folder {folder}: {exc}") from None
        out.append(Handed(klass, len(items), files))
    return out


async def hand_over(
    journal: Journal,
    *,
    tenant: str,
    run_id: int | None,
    actor: str,
    passwords: InitialPasswords,
    class_of: Mapping[str, str],
    config: HandOverConfig | None,
    folder: Path | None,
    emit: Callable[[str, str], None],
) -> list[Handed]:
    """Write the run's lists, audit each, and forget the passwords (even when writing fails:
    a password that could not be handed over is reset, never kept). ``run_id`` None: a
    ``password reset``, not a run."""
    when = datetime.now(UTC)
    what, batch = (
        (f"run {run_id}", f"run{run_id}")
        if run_id is not None
        else ("reset", f"reset{when:%Y%m%d%H%M%S}")
    )
    issued = passwords.issued()
    passwords.clear()
    if not issued:
        return []
    if config is None or folder is None:
        emit("error", f"{len(issued)} initial password(s) made but no [hand_over] is configured")
        return []
    try:
        handed = await asyncio.to_thread(
            write_lists, tenant, batch, issued, class_of, config, folder, when
        )
    except HandOverError as exc:
        accounts = ", ".join(sorted(i.account for i in issued))
        emit(
            "error",
            f"the initial passwords of {len(issued)} new account(s) could not be handed over "
            f"({exc}); reset them in the service: {accounts}",
        )
        await journal.add_audit(
            actor, "password.hand_over", tenant, False, f"{what}: failed: {exc}"
        )
        return []
    for h in handed:
        detail = (
            f"{what}: class {h.klass}: {h.count} initial password(s) encrypted to "
            f"{config.staff} in {h.files[0].name} and {h.files[1].name}"
        )
        await journal.add_audit(actor, "password.hand_over", tenant, True, detail)
        emit("info", detail)
    return handed


def class_names(
    groups: Mapping[str, tuple[str, str]], members: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Person id -> class name, from classes (group id -> (name, school name)) and their
    student memberships (group id, person id); a class name shared by two schools gets the
    school's name after it."""
    names = Counter(n for n, _ in groups.values())
    out: dict[str, str] = {}
    for gid, pid in members:
        if gid in groups:
            name, school = groups[gid]
            out.setdefault(pid, f"{name} {school}" if names[name] > 1 and school else name)
    return out


def check_first_sign_in(
    mode: str, config: HandOverConfig | None, folder: Path | None
) -> tuple[str, str, str]:
    """``ess target check``'s first sign-in line: (status, detail, fix). Writes nothing but a
    probe file it removes again."""
    if mode == "discard":
        return "ok", "random initial passwords, not kept (the school resets them)", ""
    if mode == "federated":
        return (
            "skipped",
            "not checked by ESS: the domain must sign in at the identity provider",
            "",
        )
    if config is None or folder is None:
        return "missing", "no [hand_over]", "add hand_over to the tenant"
    try:
        encrypt(b"probe", config.public_key)
    except HandOverError as exc:
        return "missing", str(exc), "ask the staff member for her age public key again"
    probe = folder / ".ess-probe"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write(probe, b"")
        probe.unlink()
    except OSError as exc:
        return (
            "missing",
            f"hand_over.folder {folder} is not writable: {exc.strerror or exc}",
            "make the folder writable by the account ESS runs as",
        )
    return "ok", f"lists encrypted to {config.staff}, written to {folder}", ""
