"""A kind that needs another object by a different key (``KindSpec.needs``): a course's owner,
named in its attributes, is created first. The plan carries the edge from the course to its
owner's create, and none when the owner is there already, so such plans stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.plan import Action, Operation
from engine.planner import PlanInput, plan
from engine.target import (
    DesiredObject,
    DesiredState,
    KindSpec,
    MirrorObject,
    Need,
    ObservedState,
)

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
USER, COURSE = "user", "course"
NEEDS = (KindSpec(USER, 1, "suspend"), KindSpec(COURSE, 2, "archive", needs=(Need("owner", USER),)))
PLAIN = (KindSpec(USER, 1, "suspend"), KindSpec(COURSE, 2, "archive"))


def obj(kind: str, key: str, **attrs: Any) -> DesiredObject:
    return DesiredObject(kind, key, tuple(sorted(attrs.items())))


def mirror(o: DesiredObject, suspended: bool = False) -> MirrorObject:
    at = NOW if suspended else None
    return MirrorObject(o.kind, o.key, f"t-{o.key}", o.fingerprint, o.attrs, at)


def planned(
    desired: list[DesiredObject],
    there: list[DesiredObject],
    kinds: tuple[KindSpec, ...] = NEEDS,
    suspended: frozenset[str] = frozenset(),
) -> dict[tuple[str, str], Operation]:
    def by_kind(objs: list[Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for o in objs:
            out.setdefault(o.kind, {})[o.key] = o
        return out

    inp = PlanInput(
        "t",
        kinds,
        (),
        DesiredState(by_kind(desired), {}),
        ObservedState(by_kind([mirror(o, o.key in suspended) for o in there]), {}),
        NOW,
    )
    return {(op.kind, op.key): op for op in plan(inp).operations}


def test_a_course_waits_for_the_create_of_its_owner() -> None:
    ops = planned([obj(USER, "p-1", n=1), obj(COURSE, "g-1", owner="p-1")], [])
    assert ops[(COURSE, "g-1")].depends_on == (ops[(USER, "p-1")].seq,)
    assert ops[(USER, "p-1")].seq < ops[(COURSE, "g-1")].seq


def test_no_edge_when_the_owner_is_there_already_or_only_updated() -> None:
    there = obj(USER, "p-1", n=1)
    changed = obj(USER, "p-2", n=2)
    ops = planned(
        [
            there,
            obj(USER, "p-2", n=3),  # an update: the account exists, nothing to wait for
            obj(COURSE, "g-1", owner="p-1"),
            obj(COURSE, "g-2", owner="p-2"),
            obj(COURSE, "g-3", owner="p-9"),  # not in this plan at all
        ],
        [there, changed],
    )
    assert ops[(USER, "p-2")].action is Action.UPDATE
    assert [ops[(COURSE, g)].depends_on for g in ("g-1", "g-2", "g-3")] == [(), (), ()]


def test_an_owner_change_to_a_new_account_waits_for_that_account() -> None:
    course = obj(COURSE, "g-1", owner="p-1")
    ops = planned(
        [obj(USER, "p-1", n=1), obj(USER, "p-2", n=2), obj(COURSE, "g-1", owner="p-2")],
        [obj(USER, "p-1", n=1), course],
    )
    assert ops[(COURSE, "g-1")].action is Action.UPDATE
    assert ops[(COURSE, "g-1")].depends_on == (ops[(USER, "p-2")].seq,)


def test_a_sequence_of_keys_waits_for_each_create_once() -> None:
    kinds = (KindSpec(USER, 1), KindSpec("group", 2, needs=(Need("members", USER),)))
    ops = planned(
        [
            obj(USER, "p-1", n=1),
            obj(USER, "p-2", n=2),
            obj("group", "s-1", members=("p-2", "p-1", "p-2", "p-3")),
        ],
        [],
        kinds,
    )
    want = tuple(sorted((ops[(USER, "p-1")].seq, ops[(USER, "p-2")].seq)))
    assert ops[("group", "s-1")].depends_on == want


def test_without_the_declaration_the_plan_has_no_edge() -> None:
    ops = planned([obj(USER, "p-1", n=1), obj(COURSE, "g-1", owner="p-1")], [], PLAIN)
    assert ops[(COURSE, "g-1")].depends_on == ()


def test_a_reference_by_another_attribute_waits_for_the_object_holding_it() -> None:
    kinds = (
        KindSpec(USER, 1),
        KindSpec("group", 2, needs=(Need("member_refs", USER, "uuid"),)),
    )
    there = obj(USER, "p-1", uuid="u-1")
    ops = planned(
        [there, obj(USER, "p-2", uuid="u-2"), obj("group", "s-1", member_refs=("u-1", "u-2"))],
        [there],
        kinds,
    )
    assert ops[("group", "s-1")].depends_on == (ops[(USER, "p-2")].seq,)  # u-1 is there


def test_a_course_waits_for_its_suspended_owner_to_be_restored() -> None:
    """A suspended account cannot own a course (Classroom refuses it): the course waits."""
    owner = obj(USER, "p-1", n=1)
    ops = planned([owner, obj(COURSE, "g-1", owner="p-1")], [owner], suspended=frozenset({"p-1"}))
    assert ops[(USER, "p-1")].action is Action.RESTORE
    assert ops[(COURSE, "g-1")].depends_on == (ops[(USER, "p-1")].seq,)
