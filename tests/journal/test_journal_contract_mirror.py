"""The journal contract: the mirror (what ESS believes each target holds) and its links."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.journal import Journal, MirrorRow
from engine.links import LinkSet
from engine.plan import Action, OpStatus
from engine.target import MirrorObject, ObservedState
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import TENANT, finish, op, stored_run

SUSPENDED = datetime(2026, 11, 3, 8, 15, 30, 250000, tzinfo=UTC)


def _observed() -> ObservedState:
    users = {
        "u1": MirrorObject(
            "user",
            "u1",
            "id-1",
            "fp1",
            (("displayName", "Åsa"), ("roles", ("student", "mentor")), ("n", 3)),
            label="Åsa Berg",
        ),
        "u2": MirrorObject("user", "u2", "id-2", "fp2", (), SUSPENDED, False, "Bo"),
        "u3": MirrorObject("user", "u3", None, "fp3", (("x", None),), None, True, ""),
    }
    classes = {"c1": MirrorObject("class", "c1", "id-c1", "fpc", (("name", "7A"),), label="7A")}
    links = {"class.member": LinkSet([("c1", "u1"), ("c1", "u2")])}
    return ObservedState({"user": users, "class": classes}, links)


async def test_the_mirror_reads_back_as_it_was_stored(open_journal: OpenJournal) -> None:
    observed = _observed()
    j = await open_journal()
    try:
        await j.replace_mirror(TENANT, "ms", observed)
        await j.replace_mirror(TENANT, "gw", ObservedState({"user": {}}, {}))
        back = await j.load_mirror(TENANT, "ms")
    finally:
        await j.close()
    assert back.objects == observed.objects
    assert back.links == observed.links
    again = await open_journal()  # and after the journal was closed and opened again
    try:
        assert (await again.load_mirror(TENANT, "ms")).objects == observed.objects
        assert (await again.load_mirror(TENANT, "gw")).objects == {}
        assert (await again.load_mirror("other", "ms")).objects == {}
        # a refreshed view replaces the old one entirely
        await again.replace_mirror(TENANT, "ms", ObservedState({}, {}))
        empty = await again.load_mirror(TENANT, "ms")
        assert empty.objects == {} and empty.links == {}
    finally:
        await again.close()


async def test_the_mirror_of_a_key_is_typed(journal: Journal) -> None:
    await journal.replace_mirror(TENANT, "ms", _observed())
    await journal.replace_mirror(TENANT, "gw", ObservedState({"user": {"u1": _user("g-1")}}, {}))
    rows = sorted(await journal.mirror_for_key(TENANT, "u1"), key=lambda m: m.target)
    assert all(isinstance(m, MirrorRow) for m in rows)
    assert [(m.target, m.kind, m.target_id) for m in rows] == [
        ("gw", "user", "g-1"),
        ("ms", "user", "id-1"),
    ]
    ms = rows[1]
    assert ms.attrs == (("displayName", "Åsa"), ("roles", ("student", "mentor")), ("n", 3))
    assert (ms.tenant, ms.key, ms.fingerprint, ms.label) == (TENANT, "u1", "fp1", "Åsa Berg")
    assert ms.suspended_at is None and ms.archived is False and ms.updated_at.tzinfo is not None
    [suspended] = await journal.mirror_for_key(TENANT, "u2")
    assert suspended.suspended_at == SUSPENDED
    [archived] = await journal.mirror_for_key(TENANT, "u3")
    assert archived.archived is True and archived.target_id is None
    assert await journal.mirror_for_key("other", "u1") == []


def _user(target_id: str) -> MirrorObject:
    return MirrorObject("user", "u1", target_id, "fp", ())


async def test_applied_outcomes_change_the_mirror(journal: Journal) -> None:
    await journal.replace_mirror(TENANT, "ms", _observed())
    _, ops = await stored_run(
        journal,
        [
            op(1, Action.CREATE, "user", "u4", attrs=(("displayName", "Ny"),), label="Ny Elev"),
            op(2, Action.UPDATE, "class", "c1", attrs=(("name", "7B"),), label="7B"),
            op(3, Action.SUSPEND, "user", "u1"),
            op(4, Action.ARCHIVE, "class", "c1"),
            op(5, Action.DELETE, "user", "u2"),
            op(6, Action.LINK, "class.member", "u4", parent="c1"),
            op(7, Action.UNLINK, "class.member", "u3", parent="c1"),
            op(8, Action.RESTORE, "user", "u3", attrs=(("x", 1),)),
            op(9, Action.CREATE, "user", "never"),  # failed: no mirror change
        ],
    )
    await finish(journal, ops[:8], OpStatus.DONE, target_id=None)
    await finish(journal, [ops[0]], OpStatus.DONE, target_id="id-4")
    await finish(journal, [ops[8]], OpStatus.FAILED)
    back = await journal.load_mirror(TENANT, "ms")
    users, classes = back.objects["user"], back.objects["class"]
    assert set(users) == {"u1", "u3", "u4"}  # u2 deleted, "never" failed
    assert users["u4"].target_id == "id-4" and users["u4"].attrs == (("displayName", "Ny"),)
    assert users["u4"].label == "Ny Elev" and users["u4"].fingerprint == ops[0].fingerprint
    assert users["u1"].suspended_at is not None and users["u1"].target_id == "id-1"
    assert users["u3"].archived is False and users["u3"].attrs == (("x", 1),)
    assert classes["c1"].archived is True and classes["c1"].attrs == (("name", "7B"),)
    assert classes["c1"].target_id == "id-c1"  # an outcome without a target id keeps the known one
    # the deleted user's link went with it; the new link is there
    assert back.links["class.member"] == LinkSet([("c1", "u1"), ("c1", "u4")])
