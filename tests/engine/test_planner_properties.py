"""Planner properties: applying a plan to the observed state yields the desired state, and the
plan after that is empty."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.links import LinkSet
from engine.plan import Action, Phase
from engine.planner import PlanInput, apply_to_observed, plan
from engine.target import (
    DesiredObject,
    DesiredState,
    KindSpec,
    LinkSpec,
    MirrorObject,
    ObservedState,
    attrs_of,
)

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
KINDS = (
    KindSpec("school", 1, "delete"),
    KindSpec("user", 2, "suspend", grace_days=30),
    KindSpec("class", 3, "archive"),
    KindSpec("team", 4, "keep", depends_on=("class",)),
)
LINKS = (LinkSpec("class.member", "class", "user"), LinkSpec("school.user", "school", "user"))
KEYS = st.sampled_from([f"k{i}" for i in range(8)])


@st.composite
def states(draw: st.DrawFn) -> tuple[DesiredState, ObservedState]:
    desired: dict[str, dict[str, DesiredObject]] = {}
    observed: dict[str, dict[str, MirrorObject]] = {}
    for spec in KINDS:
        want = draw(st.dictionaries(KEYS, st.integers(0, 3), max_size=6))
        have = draw(
            st.dictionaries(KEYS, st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=6)
        )
        desired[spec.name] = {
            k: DesiredObject(spec.name, k, attrs_of({"v": v}), label=k) for k, v in want.items()
        }
        observed[spec.name] = {}
        for k, (v, flag) in have.items():
            d = DesiredObject(spec.name, k, attrs_of({"v": v}))
            suspended = NOW - timedelta(days=40 if flag == 2 else 1) if flag else None
            observed[spec.name][k] = MirrorObject(
                spec.name,
                k,
                f"t-{k}",
                d.fingerprint,
                d.attrs,
                suspended if spec.retire == "suspend" else None,
                bool(flag) and spec.retire == "archive",
            )
    pairs = st.frozensets(st.tuples(KEYS, KEYS), max_size=10)
    dl: dict[str, Any] = {s.name: draw(pairs) for s in LINKS}
    ol: dict[str, Any] = {s.name: draw(pairs) for s in LINKS}
    # desired links only between desired objects, as targets build them
    for s in LINKS:
        dl[s.name] = LinkSet(
            (p, c)
            for p, c in dl[s.name]
            if p in desired[s.parent_kind] and c in desired[s.child_kind]
        )
        ol[s.name] = LinkSet(
            (p, c)
            for p, c in ol[s.name]
            if p in observed[s.parent_kind] and c in observed[s.child_kind]
        )
    return DesiredState(desired, dl), ObservedState(observed, ol)


def _plan(d: DesiredState, o: ObservedState):  # type: ignore[no-untyped-def]
    return plan(PlanInput("t", KINDS, LINKS, d, o, NOW))


@settings(max_examples=150, deadline=None)
@given(states())
def test_applying_the_plan_reaches_the_desired_state_and_replanning_is_empty(
    s: tuple[DesiredState, ObservedState],
) -> None:
    desired, observed = s
    p = _plan(desired, observed)
    after = apply_to_observed(observed, p, NOW, LINKS)
    for spec in KINDS:
        live = {
            k: o.fingerprint
            for k, o in after.objects.get(spec.name, {}).items()
            if o.suspended_at is None and not o.archived
        }
        want = {k: d.fingerprint for k, d in desired.objects[spec.name].items()}
        if spec.retire == "keep":
            assert want.items() <= live.items()
        else:
            assert live == want
    for link in LINKS:
        got = set(after.links.get(link.name, ()))
        want_l = set(desired.links[link.name])
        assert want_l <= got
        extra = got - want_l
        # links left over only hang on archived or kept parents
        for parent, _child in extra:
            o = after.objects[link.parent_kind].get(parent)
            assert o is not None and (o.archived or link.parent_kind == "team")
    assert len(_plan(desired, after)) == 0


@settings(max_examples=100, deadline=None)
@given(states())
def test_phases_are_ordered_and_dependencies_point_backwards(
    s: tuple[DesiredState, ObservedState],
) -> None:
    p = _plan(*s)
    phases = [op.phase for op in p.operations]
    assert phases == sorted(phases)
    for op in p.operations:
        assert all(d < op.seq for d in op.depends_on)
    deletes = [op for op in p.operations if op.action is Action.DELETE]
    ranks = {k.name: k.rank for k in KINDS}
    assert [ranks[o.kind] for o in deletes] == sorted(
        (ranks[o.kind] for o in deletes), reverse=True
    )
    assert all(op.phase is Phase.DELETE for op in deletes)


@settings(max_examples=100, deadline=None)
@given(states())
def test_a_plan_counts_and_numbers_its_link_runs_as_if_written_out(
    s: tuple[DesiredState, ObservedState],
) -> None:
    p = _plan(*s)
    ops = p.operations
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1))
    assert len(p) == len(ops)
    assert p.counts() == Counter((op.action.value, op.kind) for op in ops)
    with_ids = list(p.iter_operations(id_base=100))
    assert [op.id for op in with_ids] == [100 + op.seq for op in ops]
    assert [op._replace(id=0) for op in with_ids] == list(ops)


def test_leaver_is_suspended_then_deleted_after_grace() -> None:
    d = DesiredObject("user", "u1", attrs_of({"v": 1}))
    empty = DesiredState({"user": {}}, {})
    fresh = ObservedState({"user": {"u1": MirrorObject("user", "u1", "t", d.fingerprint)}}, {})
    assert [op.action for op in _plan(empty, fresh).operations] == [Action.SUSPEND]
    recent = ObservedState(
        {
            "user": {
                "u1": MirrorObject(
                    "user", "u1", "t", d.fingerprint, suspended_at=NOW - timedelta(days=2)
                )
            }
        },
        {},
    )
    assert len(_plan(empty, recent)) == 0
    old = ObservedState(
        {
            "user": {
                "u1": MirrorObject(
                    "user", "u1", "t", d.fingerprint, suspended_at=NOW - timedelta(days=31)
                )
            }
        },
        {},
    )
    assert [op.action for op in _plan(empty, old).operations] == [Action.DELETE]
    back = DesiredState({"user": {"u1": d}}, {})
    assert [op.action for op in _plan(back, recent).operations] == [Action.RESTORE]


def test_links_wait_for_the_creates_they_need() -> None:
    desired = DesiredState(
        {
            "class": {"c": DesiredObject("class", "c", ())},
            "user": {"u": DesiredObject("user", "u", ())},
        },
        {"class.member": frozenset({("c", "u")})},
    )
    p = _plan(desired, ObservedState({}, {}))
    by_key = {(op.action, op.kind): op for op in p.operations}
    link = by_key[(Action.LINK, "class.member")]
    assert set(link.depends_on) == {
        by_key[(Action.CREATE, "class")].seq,
        by_key[(Action.CREATE, "user")].seq,
    }


def test_skipped_operation_is_not_planned_until_the_record_changes() -> None:
    d1 = DesiredObject("user", "u", attrs_of({"v": 1}))
    desired = DesiredState({"user": {"u": d1}}, {})
    skips = {("create", "user", "u", ""): d1.fingerprint}
    assert len(plan(PlanInput("t", KINDS, LINKS, desired, ObservedState({}, {}), NOW, skips))) == 0
    d2 = DesiredObject("user", "u", attrs_of({"v": 2}))
    changed = DesiredState({"user": {"u": d2}}, {})
    assert len(plan(PlanInput("t", KINDS, LINKS, changed, ObservedState({}, {}), NOW, skips))) == 1


@settings(max_examples=200, deadline=None)
@given(states(), st.frozensets(KEYS, max_size=4), st.frozensets(KEYS, max_size=4))
def test_held_keys_are_never_removed_nor_unlinked(
    state: tuple[DesiredState, ObservedState],
    held_users: frozenset[str],
    held_classes: frozenset[str],
) -> None:
    """A held object (its source record refused) is never retired, and no link where it is
    parent or child is removed; everything else is planned as without the hold."""
    d, o = state
    held = {"user": held_users, "class": held_classes, "team": held_classes}
    p = plan(PlanInput("t", KINDS, LINKS, d, o, NOW, {}, held))
    for op in p.operations:
        if op.action in (Action.SUSPEND, Action.ARCHIVE, Action.DELETE):
            assert op.key not in held.get(op.kind, ()), op
        if op.action is Action.UNLINK:
            spec = next(s for s in LINKS if s.name == op.kind)
            assert op.key not in held.get(spec.child_kind, ()), op
            assert op.parent not in held.get(spec.parent_kind, ()), op
    free = plan(PlanInput("t", KINDS, LINKS, d, o, NOW))

    def touches_held(op: Any) -> bool:
        if op.is_link:
            spec = next(s for s in LINKS if s.name == op.kind)
            return op.action is Action.UNLINK and (
                op.key in held.get(spec.child_kind, ())
                or op.parent in held.get(spec.parent_kind, ())
            )
        retiring = op.action in (Action.SUSPEND, Action.ARCHIVE, Action.DELETE)
        return retiring and op.key in held.get(op.kind, ())

    expected = Counter(
        (op.action, op.kind, op.key, op.parent) for op in free.operations if not touches_held(op)
    )
    got = Counter((op.action, op.kind, op.key, op.parent) for op in p.operations)
    assert got == expected
