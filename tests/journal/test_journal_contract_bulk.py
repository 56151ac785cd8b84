"""The journal contract: many rows written at once (a large plan, a full source read, a refreshed
mirror) read back exactly as written, awkward text and bytes included. On PostgreSQL these go
as COPY from a few hundred rows on (engine.journal.postgres_sql), so they are tested here at
that size on every implementation."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.journal import Journal
from engine.journal.postgres_sql import COPY_FROM
from engine.links import LinkSet
from engine.plan import Action
from engine.target import MirrorObject, ObservedState
from tests.journal.journal_support import TENANT, op, stored_run

N = COPY_FROM + 50
AWKWARD = "tab\there, new\nline, back\\slash, \\N, quote ' \" , Åsa Öberg, emoji 🙂, nul-free"


async def test_a_large_plan_reads_back_as_written(journal: Journal) -> None:
    ops = [
        op(
            i,
            Action.CREATE if i % 3 else Action.UPDATE,
            "user",
            f"u{i}",
            attrs=(("displayName", f"{AWKWARD} {i}"), ("roles", ("a", "b")), ("n", i)),
            label=f"{AWKWARD} {i}",
            parent=None if i % 2 else "c1",
        )
        for i in range(1, N + 1)
    ]
    run_id, stored = await stored_run(journal, ops)
    assert [s.id for s in stored] == list(range(stored[0].id, stored[0].id + N))
    loaded = [s.op for s in await journal.load_operations(run_id)]
    assert sorted(loaded, key=lambda o: o.seq) == sorted(stored, key=lambda o: o.seq)


async def test_a_full_source_read_keeps_every_byte(journal: Journal) -> None:
    bodies = {f"p{i}": bytes(range(256)) + AWKWARD.encode() + str(i).encode() for i in range(N)}
    await journal.save_source(
        TENANT, upserts={"persons": bodies}, deletes={}, checkpoint="c1", full=True
    )
    cached = await journal.load_source(TENANT)
    assert cached.records["persons"] == bodies and cached.checkpoint == "c1"
    entries = [
        ("person", f"p{i}", f"{AWKWARD} {i}", "student", f"åsa öberg {i}", '{"a":"\\\\n"}')
        for i in range(N)
    ]
    await journal.replace_index(TENANT, entries)
    record = await journal.index_record(TENANT, "person", "p7")
    assert record is not None and record.label == f"{AWKWARD} 7" and record.body == {"a": "\\n"}


async def test_a_refreshed_mirror_reads_back_as_written(journal: Journal) -> None:
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    users = {
        f"u{i}": MirrorObject(
            "user",
            f"u{i}",
            f"id-{i}",
            f"fp{i}",
            (("displayName", f"{AWKWARD} {i}"),),
            now if i % 5 == 0 else None,
            i % 7 == 0,
            f"{AWKWARD} {i}",
        )
        for i in range(N)
    }
    links = {"class.member": LinkSet([("c1", f"u{i}") for i in range(N)])}
    await journal.replace_mirror(TENANT, "ms", ObservedState({"user": users}, links))
    back = await journal.load_mirror(TENANT, "ms")
    assert back.objects["user"] == users
    assert set(back.links["class.member"]) == set(links["class.member"])
