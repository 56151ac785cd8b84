"""The journal contract: ``move_source_ids`` moves every row keyed by a source id to the new
source's id in one transaction, and the holds a rekey leaves keep what it could not match."""

from __future__ import annotations

import pytest

from engine.journal import Journal, JournalError, KeyMoves
from engine.links import LinkSet
from engine.plan import Action
from engine.target import MirrorObject, ObservedState
from tests.journal.journal_support import TENANT, op, stored_run

KINDS = {"ms": {"user": "person", "class": "group", "class.member": "person"}}
PARENTS = {"ms": {"class.member": "group"}}


def _user(key: str, label: str) -> MirrorObject:
    return MirrorObject("user", key, f"id-{label}", f"fp-{label}", (("n", label),), label=label)


async def _filled(j: Journal, tenant: str = TENANT) -> None:
    users = {k: _user(k, label) for k, label in (("a", "Åsa"), ("b", "Bo"), ("c", "Cilla"))}
    classes = {"g1": MirrorObject("class", "g1", "id-7A", "fp-7A", (), label="7A")}
    links = {"class.member": LinkSet([("g1", "a"), ("g1", "b"), ("g1", "c")])}
    await j.replace_mirror(tenant, "ms", ObservedState({"user": users, "class": classes}, links))


async def test_ids_move_everywhere_and_may_trade_places(journal: Journal) -> None:
    await _filled(journal)
    await _filled(journal, "other")
    run_id, stored = await stored_run(
        journal,
        [
            op(1, Action.UPDATE, "user", "a"),
            op(2, Action.LINK, "class.member", "b", parent="g1"),
        ],
    )
    await journal.add_skips(TENANT, [stored[0]], "test", "why")
    await journal.replace_index(TENANT, [("person", "a", "Åsa", "", "åsa", None)])
    await journal.save_source(
        TENANT, upserts={"persons": {"a": b"{}"}}, deletes={}, checkpoint="c", full=True
    )
    moves = KeyMoves(
        KINDS,
        PARENTS,
        {"person": {"a": "b", "b": "a", "c": "c"}, "group": {"g1": "G-1"}},
        holds=(("person", "z", "no new record shares a key"),),
        caches=(TENANT,),
    )
    counts = await journal.move_source_ids(TENANT, moves, "cli:eva")
    assert counts["mirror"] == 3  # a and b trade places, g1 moves, c stays c
    mirror = await journal.load_mirror(TENANT, "ms")
    assert {k: o.label for k, o in mirror.objects["user"].items()} == {
        "a": "Bo",
        "b": "Åsa",
        "c": "Cilla",
    }
    assert mirror.objects["user"]["b"].target_id == "id-Åsa"  # the object kept its target id
    assert set(mirror.objects["class"]) == {"G-1"}
    assert set(mirror.links["class.member"]) == {("G-1", "a"), ("G-1", "b"), ("G-1", "c")}
    ops = {r.op.seq: r.op for r in await journal.list_operations(run_id, limit=10)}
    assert (ops[1].key, ops[2].key, ops[2].parent) == ("b", "a", "G-1")
    assert set(await journal.skips(TENANT, "ms")) == {("update", "user", "b", "")}
    assert await journal.index_record(TENANT, "person", "b") is not None
    assert await journal.index_record(TENANT, "person", "a") is None
    assert (await journal.load_source(TENANT)).records == {}
    holds = await journal.source_holds(TENANT)
    assert [(h.record_type, h.key, h.actor) for h in holds] == [("person", "z", "cli:eva")]
    # another tenant's rows are its own
    other = await journal.load_mirror("other", "ms")
    assert other.objects["user"]["a"].label == "Åsa"
    assert set(other.objects["class"]) == {"g1"}


async def test_a_new_id_already_taken_moves_nothing(journal: Journal) -> None:
    await _filled(journal)
    moves = KeyMoves(
        KINDS,
        PARENTS,
        {"person": {"a": "c"}, "group": {"g1": "G-1"}},  # c stays and holds the id
        holds=(("person", "z", "unmatched"),),
    )
    with pytest.raises(JournalError, match="clash"):
        await journal.move_source_ids(TENANT, moves, "cli:eva")
    mirror = await journal.load_mirror(TENANT, "ms")
    assert set(mirror.objects["user"]) == {"a", "b", "c"}
    assert set(mirror.objects["class"]) == {"g1"}  # the group's move was rolled back too
    assert await journal.source_holds(TENANT) == []


async def test_holds_are_listed_and_released(journal: Journal) -> None:
    holds = (("person", "p1", "unmatched"), ("group", "g1", "ambiguous"), ("person", "p2", "x"))
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {}, holds), "cli:eva")
    await journal.move_source_ids("other", KeyMoves({}, {}, {}, holds[:1]), "cli:eva")
    assert len(await journal.source_holds(TENANT)) == 3
    assert await journal.release_holds(TENANT, [("person", "p1"), ("person", "nope")]) == 1
    assert {h.key for h in await journal.source_holds(TENANT)} == {"g1", "p2"}
    assert await journal.release_holds(TENANT, None) == 2
    assert await journal.source_holds(TENANT) == []
    assert len(await journal.source_holds("other")) == 1


async def test_an_earlier_hold_moves_with_its_record(journal: Journal) -> None:
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {}, (("person", "a", "x"),)), "eva")
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {"person": {"a": "b"}}), "eva")
    assert [h.key for h in await journal.source_holds(TENANT)] == ["b"]


async def test_aliases_are_replaced_whole_and_forgotten_by_a_rekey(journal: Journal) -> None:
    await journal.replace_source_aliases(TENANT, {("grund", "g1"): "u1", ("grund", "g2"): "u2"})
    await journal.replace_source_aliases("other", {("grund", "g1"): "x"})
    await journal.replace_source_aliases(TENANT, {("grund", "g2"): "u2", ("gy", "y3"): "u3"})
    assert await journal.source_aliases(TENANT) == {("grund", "g2"): "u2", ("gy", "y3"): "u3"}
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {"person": {"u2": "n2"}}), "cli:eva")
    assert await journal.source_aliases(TENANT) == {}
    assert await journal.source_aliases("other") == {("grund", "g1"): "x"}


async def test_owners_are_kept_with_the_aliases_and_forgotten_with_them(journal: Journal) -> None:
    """Each source's merged records are stored beside its aliases; the aliases stay what they
    were (an owner row is a record under its own id), and a rekey forgets both."""
    await journal.replace_source_aliases(
        TENANT,
        {("grund", "g1"): "u1"},
        {
            "gy": {"person": {"u1", "u2"}, "school": {"s1"}, "group": {"c1"}},
            "grund": {"person": {"u1", "u3"}, "school": {"s2"}},
        },
    )
    assert await journal.source_aliases(TENANT) == {("grund", "g1"): "u1"}
    assert await journal.source_owners(TENANT) == {
        "gy": {
            "person": frozenset({"u1", "u2"}),
            "school": frozenset({"s1"}),
            "group": frozenset({"c1"}),
        },
        "grund": {"person": frozenset({"u1", "u3"}), "school": frozenset({"s2"})},
    }
    assert await journal.source_owners("other") == {}
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {"person": {"u2": "n2"}}), "cli:eva")
    assert await journal.source_owners(TENANT) == {}


async def test_many_owners_are_stored_whole(journal: Journal) -> None:
    """A municipality's worth of records goes in as one insert (a COPY on PostgreSQL)."""
    persons = {f"u{i}" for i in range(450)}
    await journal.replace_source_aliases(
        TENANT, {("grund", "g7"): "u7"}, {"gy": {"person": persons}, "grund": {"person": {"u7"}}}
    )
    owners = await journal.source_owners(TENANT)
    assert owners == {"gy": {"person": frozenset(persons)}, "grund": {"person": frozenset({"u7"})}}
    assert await journal.source_aliases(TENANT) == {("grund", "g7"): "u7"}
