"""A journal written before schema 2 (attribute fingerprints from the ``repr``), opened by this
code: unchanged objects still plan nothing, skips still hold, and a plan made before the upgrade
still lands in the mirror without making its objects look changed. All on real SQLite files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.journal import SqliteJournal
from engine.journal.schema import MIGRATIONS
from engine.journal.sqlite import OutcomeRow
from engine.model import Snapshot
from engine.ops import Ops
from engine.plan import Action, Operation, OpStatus
from engine.planner import PlanInput, plan
from engine.target import (
    Attrs,
    DesiredObject,
    DesiredState,
    KindSpec,
    attrs_fingerprint,
    attrs_from_json,
    attrs_of,
    legacy_attrs_fingerprint,
)
from engine.testing.builder import drop_persons, tiny_snapshot
from tests.conftest import Workdir

NOW = datetime(2026, 11, 2, tzinfo=UTC)
KINDS = (KindSpec("user", 1, "delete"), KindSpec("class", 2, "delete"))


def legacy_schema(path: Path) -> sqlite3.Connection:
    """An empty journal at schema 1, as the code before the upgrade made it."""
    db = sqlite3.connect(path, isolation_level=None)
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    db.executescript(first)
    db.execute("PRAGMA user_version=1")
    return db


def as_legacy(path: Path) -> None:
    """Rewrite a journal as the code before the upgrade would have left it.

    The rows are the same; only the fingerprints differ, and each is a function of the
    attributes it was made from: every fingerprint the journal holds (mirror, operations,
    skips) becomes the legacy one of the same attributes, and the schema goes back to 1.
    """
    db = sqlite3.connect(path, isolation_level=None)
    legacy: dict[str, str] = {"": ""}
    for (text,) in db.execute("SELECT attrs FROM mirror UNION SELECT attrs FROM operations"):
        attrs = attrs_from_json(text)
        legacy[attrs_fingerprint(attrs)] = legacy_attrs_fingerprint(attrs)
    db.execute("BEGIN")
    for table in ("mirror", "operations", "skips"):
        for (fp,) in db.execute(f"SELECT DISTINCT fingerprint FROM {table}").fetchall():
            assert fp in legacy, f"{table} holds a fingerprint of no stored attributes"
            db.execute(f"UPDATE {table} SET fingerprint=? WHERE fingerprint=?", (legacy[fp], fp))
    db.execute("PRAGMA user_version=1")
    db.execute("COMMIT")
    db.close()


def fingerprint_lengths(path: Path, table: str) -> dict[int, int]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            f"SELECT length(fingerprint), COUNT(*) FROM {table} GROUP BY length(fingerprint)"
        ).fetchall()
        return dict(rows)
    finally:
        db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def renamed(snap: Snapshot, pid: str, given: str) -> Snapshot:
    persons = dict(snap.persons)
    persons[pid] = replace(persons[pid], given_name=given)
    return replace(snap, persons=persons)


def pupils(snap: Snapshot) -> list[str]:
    students = {r.person_id for r in snap.school_roles if r.role.value == "student"}
    return sorted(p for p in students if not snap.persons[p].is_protected)


async def skip_dead(ops: Ops) -> int:
    dead = [f.id for f in await ops.failures("alpha") if f.status == "dead"]
    await ops.skip(dead, reason="reported to the school")
    return len(dead)


# ---------------------------------------------------------------- whole runs over Ops


async def test_an_upgraded_journal_plans_nothing_for_unchanged_objects_and_keeps_skips(
    workdir: Workdir,
) -> None:
    snap = tiny_snapshot()
    p1, p2, p3 = pupils(snap)[:3]
    # run 1: p1's account is refused and skipped (a skipped create)
    workdir.write(target=f'reject_keys = ["{p1}"]')
    async with await Ops.open(workdir.config, actor="test") as ops:
        assert (await ops.sync("alpha")).status == "partial"
        assert await skip_dead(ops) == 1
    # run 2: p2 renamed and p3 gone, both refused and skipped (an update and a suspension)
    changed = workdir.source(renamed(snap.without(persons={p3}), p2, "Zelda"))
    workdir.write(target=f'reject_keys = ["{p1}", "{p2}", "{p3}"]')
    async with await Ops.open(workdir.config, actor="test") as ops:
        assert (await ops.sync("alpha")).status == "partial"
        assert await skip_dead(ops) >= 2
        assert (await ops.sync("alpha")).counts["planned"] == 0

    as_legacy(workdir.journal)
    assert set(fingerprint_lengths(workdir.journal, "mirror")) == {16}
    skip_lengths = fingerprint_lengths(workdir.journal, "skips")
    assert skip_lengths[16] == 3  # create p1, update p2, suspend p3; the rest are link skips

    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded" and run.counts["planned"] == 0
    assert user_version(workdir.journal) == len(MIGRATIONS)
    assert set(fingerprint_lengths(workdir.journal, "mirror")) == {32}
    assert fingerprint_lengths(workdir.journal, "skips") == skip_lengths  # recognised, as they are

    # a skip lapses when its record changes, as before
    workdir.source(renamed(changed, p1, "Ymer"))
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        planned = await ops.operations(run.id)
        assert [(o.action, o.key) for o in planned if o.kind == "user"] == [("create", p1)]


async def test_a_plan_held_before_the_upgrade_is_applied_after_it(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        smaller = drop_persons(snap, 0.5)
        for pid in pupils(smaller)[:3]:
            smaller = renamed(smaller, pid, "Zelda")
        workdir.source(smaller)
        held = await ops.sync("alpha")
        assert held.status == "held"
        assert {o.action for o in await ops.operations(held.id)} >= {"update", "suspend"}

    as_legacy(workdir.journal)
    async with await Ops.open(workdir.config, actor="test") as ops:
        assert (await ops.approve(held.id, reason="pupils really left")).status == "succeeded"
        assert set(fingerprint_lengths(workdir.journal, "mirror")) == {32}
        assert (await ops.sync("alpha")).counts["planned"] == 0


# ---------------------------------------------------------------- rows written by hand


def user(name: str, **more: Any) -> Attrs:
    return attrs_of({"displayName": name, "accountEnabled": True, **more})


TERM = attrs_of({"displayName": "2026/27", "startDate": "2026-08-17", "endDate": "2027-06-12"})


def klass(name: str) -> Attrs:
    return tuple(sorted({"displayName": name, "externalSource": "sis", "term": TERM}.items()))


def write_mirror(db: sqlite3.Connection, kind: str, key: str, fp: str, attrs: Attrs) -> None:
    """A mirror row as the old code wrote it (``_apply_mirror``)."""
    db.execute(
        "INSERT INTO mirror(tenant, target, kind, key, target_id, fingerprint, attrs, label, "
        "suspended_at, archived, updated_at) VALUES ('t','ms',?,?,?,?,?,'',NULL,0,'x')",
        (kind, key, f"id-{key}", fp, orjson.dumps(attrs).decode() if attrs else None),
    )


def write_skip(db: sqlite3.Connection, action: str, kind: str, key: str, fp: str) -> None:
    db.execute(
        "INSERT INTO skips(tenant, target, action, kind, key, parent, fingerprint, actor, reason,"
        " at) VALUES ('t','ms',?,?,?,'',?,'cli:x','reported','x')",
        (action, kind, key, fp),
    )


def desired(objects: dict[str, dict[str, Attrs]]) -> DesiredState:
    return DesiredState(
        {k: {key: DesiredObject(k, key, a) for key, a in t.items()} for k, t in objects.items()},
        {},
    )


async def test_each_kind_of_legacy_row_after_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = legacy_schema(path)
    dated = user("Dag", birthday=date(2012, 5, 1))  # a date is stored as a string: no round trip
    rows: dict[tuple[str, str], tuple[str, Attrs]] = {
        ("user", "same"): (legacy_attrs_fingerprint(user("Åsa")), user("Åsa")),
        ("class", "same"): (legacy_attrs_fingerprint(klass("7A")), klass("7A")),
        ("user", "drifted"): ("drifted", user("Bo")),  # renamed by hand: the repair is planned
        ("user", "dated"): (legacy_attrs_fingerprint(dated), dated),
        ("user", "bare"): (legacy_attrs_fingerprint(()), ()),  # no attributes: NULL
        ("user", "renamed"): (legacy_attrs_fingerprint(user("Cid")), user("Cid")),
        ("user", "skipped"): (legacy_attrs_fingerprint(user("Eva")), user("Eva")),
        ("user", "gone"): (legacy_attrs_fingerprint(user("Fia")), user("Fia")),
        ("user", "gone-too"): (legacy_attrs_fingerprint(user("Gun")), user("Gun")),
    }
    for (kind, key), (fp, attrs) in rows.items():
        write_mirror(db, kind, key, fp, attrs)
    # skipped by an operator: the update to "Eve", the deletion of "gone", the create of "new"
    write_skip(db, "update", "user", "skipped", legacy_attrs_fingerprint(user("Eve")))
    write_skip(db, "delete", "user", "gone", rows[("user", "gone")][0])
    write_skip(db, "create", "user", "new", legacy_attrs_fingerprint(user("Hugo")))
    write_skip(db, "create", "user", "newer", legacy_attrs_fingerprint(user("Ida")))
    db.close()

    j = await SqliteJournal.open(path)
    try:
        observed = await j.load_mirror("t", "ms")
        skips = await j.skips("t", "ms")
    finally:
        await j.close()
    users, classes = observed.objects["user"], observed.objects["class"]
    assert users["same"].fingerprint == attrs_fingerprint(user("Åsa"))
    assert classes["same"].fingerprint == attrs_fingerprint(klass("7A"))
    assert users["bare"].fingerprint == attrs_fingerprint(())
    assert users["drifted"].fingerprint == "drifted"
    assert users["dated"].fingerprint == rows[("user", "dated")][0]  # left legacy
    assert users["gone"].fingerprint == attrs_fingerprint(user("Fia"))
    assert skips[("delete", "user", "gone", "")] == rows[("user", "gone")][0]  # left legacy

    want = desired(
        {
            "user": {
                "same": user("Åsa"),
                "drifted": user("Bo"),
                "dated": dated,
                "bare": (),
                "renamed": user("Cecilia"),  # changed in the source since
                "skipped": user("Eve"),
                "new": user("Hugo"),
                "newer": user("Idun"),  # changed since it was skipped
            },
            "class": {"same": klass("7A")},
        }
    )
    got = plan(PlanInput("ms", KINDS, (), want, observed, NOW, skips))
    assert sorted((op.action.value, op.key) for op in got.operations) == [
        ("create", "newer"),
        ("delete", "gone-too"),
        ("update", "drifted"),
        ("update", "renamed"),
    ]
    # the legacy row that could not be upgraded still sees a real change
    changed = desired({"user": {"dated": user("Dag", birthday=date(2012, 5, 2))}})
    got = plan(PlanInput("ms", KINDS, (), changed, observed, NOW, {}))
    assert [(op.action.value, op.key) for op in got.operations if op.key == "dated"] == [
        ("update", "dated")
    ]


async def test_an_operation_planned_before_the_upgrade_writes_a_current_fingerprint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    db = legacy_schema(path)
    write_mirror(db, "user", "u", legacy_attrs_fingerprint(user("Old")), user("Old"))
    db.close()
    j = await SqliteJournal.open(path)
    try:
        run = await j.create_run("t", trigger="test", actor="test", dry_run=False, targets=["ms"])
        legacy = Operation(
            seq=1,
            target="ms",
            action=Action.UPDATE,
            kind="user",
            key="u",
            attrs=user("New"),
            fingerprint=legacy_attrs_fingerprint(user("New")),
            target_id="id-u",
        )
        await j.store_operations(run, "t", [legacy])
        (loaded, _, _) = (await j.load_operations(run))[0]
        assert loaded.fingerprint == legacy.fingerprint  # the plan keeps what it was made with
        await j.record_outcomes(None, "t", [OutcomeRow(loaded, OpStatus.DONE, outcome="done")], {})
        observed = await j.load_mirror("t", "ms")
    finally:
        await j.close()
    assert observed.objects["user"]["u"].fingerprint == attrs_fingerprint(user("New"))
    again = plan(PlanInput("ms", KINDS, (), desired({"user": {"u": user("New")}}), observed, NOW))
    assert len(again.operations) == 0


async def test_the_migration_pages_through_a_large_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.journal.schema._PAGE", 7)
    path = tmp_path / "old.db"
    db = legacy_schema(path)
    for tenant in ("a", "b"):
        for i in range(20):
            attrs = user(f"P{i}")
            db.execute(
                "INSERT INTO mirror(tenant, target, kind, key, fingerprint, attrs, updated_at) "
                "VALUES (?, 'ms', 'user', ?, ?, ?, 'x')",
                (
                    tenant,
                    f"u{i:02d}",
                    legacy_attrs_fingerprint(attrs),
                    orjson.dumps(attrs).decode(),
                ),
            )
    db.close()
    j = await SqliteJournal.open(path)
    await j.close()
    assert fingerprint_lengths(path, "mirror") == {32: 40}
