"""``ess person forget``: refused while ESS still needs the person (a target holds their account,
the source lists them); once they are gone, what the journal held about them is removed, the
audit rows naming them become tombstones, ``ess audit verify`` still passes, and the request is
audited under a reference that does not name them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import replace

import orjson
from typer.testing import CliRunner

from console.cli import app
from engine.ops import Ops, person_ref
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir

runner = CliRunner()


def ess(workdir: Workdir, *args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["--config", str(workdir.config), *args])
    return r.exit_code, r.output


def sync(workdir: Workdir) -> None:
    async def go() -> None:
        async with await Ops.open(workdir.config, actor="test") as ops:
            await ops.sync("alpha")

    asyncio.run(go())


def journal_text(workdir: Workdir) -> str:
    """Every text value of every table, as one string to search."""
    with sqlite3.connect(workdir.journal) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        parts = []
        for t in tables:
            for row in db.execute(f'SELECT * FROM "{t}"'):
                parts += [
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                ]
    return "\n".join(parts)


def test_a_person_who_left_is_forgotten_and_the_audit_still_verifies(workdir: Workdir) -> None:
    workdir.write(policy="suspend_grace_days = 0")
    snap = workdir.source(tiny_snapshot(protected_share=0.0))
    leaver = next(p for p in snap.persons.values() if p.eppns)
    sync(workdir)
    rc, out = ess(workdir, "person", "export", "alpha", leaver.id)
    assert rc == 0, out
    # still in the source and in the target: ESS needs it, nothing is removed
    rc, out = ess(workdir, "person", "forget", "alpha", leaver.id)
    assert rc == 3 and "still holds their user" in out, out
    assert leaver.id in journal_text(workdir)
    # the person leaves the source; the account is suspended, then deleted
    persons = {k: v for k, v in snap.persons.items() if k != leaver.id}
    workdir.source(
        replace(
            snap,
            persons=persons,
            memberships=tuple(m for m in snap.memberships if m.person_id != leaver.id),
            school_roles=tuple(r for r in snap.school_roles if r.person_id != leaver.id),
        )
    )
    sync(workdir)
    sync(workdir)
    text = journal_text(workdir)
    assert leaver.id in text and leaver.display_name in text  # history still names them
    rc, out = ess(workdir, "person", "forget", "alpha", leaver.id)
    assert rc == 0, out
    ref = person_ref("alpha", leaver.id)
    assert ref in out and "operations" in out
    text = journal_text(workdir)
    assert leaver.id not in text
    assert leaver.display_name not in text
    assert leaver.eppns[0] not in text
    rc, out = ess(workdir, "audit", "verify")
    assert rc == 0, out
    with sqlite3.connect(workdir.journal) as db:
        rows = db.execute("SELECT action, detail, tombstone FROM audit ORDER BY id").fetchall()
    assert ("tombstone", "", 1) in rows  # the export's row, which named them
    forget = [d for a, d, _ in rows if a == "person_forget"]
    assert forget[0].startswith(f"person {ref}:") and forget[-1].startswith(f"person {ref}: ")
    assert "operations" in forget[-1]
    # nothing is left to forget
    rc, out = ess(workdir, "person", "forget", "alpha", leaver.id)
    assert rc == 2 and "holds nothing" in out


def test_forget_as_json_and_an_unknown_tenant(workdir: Workdir) -> None:
    workdir.write(policy="suspend_grace_days = 0")
    snap = workdir.source(tiny_snapshot(protected_share=0.0))
    sync(workdir)
    rc, out = ess(workdir, "person", "forget", "nowhere", "x")
    assert rc == 2, out
    someone = next(iter(snap.persons))
    rc, out = ess(workdir, "person", "forget", "alpha", someone, "--json")
    assert rc == 3 and orjson.dumps(someone).decode().strip('"') in out
    assert json.loads(ess(workdir, "audit", "list", "alpha", "--json")[1])[0]["allowed"] is False
