"""Desired against observed: a plan of operations with dependencies and a safe order.

Creates before memberships, additions before removals, suspensions before deletions, deletions
last (see :class:`engine.plan.Phase`). Unchanged records cost one fingerprint comparison; a run
with no source change plans zero operations. The planner is pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.plan import Action, Operation, Plan
from engine.target import (
    DesiredObject,
    DesiredState,
    KindSpec,
    LinkSpec,
    MirrorObject,
    ObservedState,
)

SkipKey = tuple[str, str, str, str]
"""(action, kind, key, parent or "") of an operation an operator chose to skip."""


@dataclass(frozen=True)
class PlanInput:
    target: str
    kinds: Sequence[KindSpec]
    links: Sequence[LinkSpec]
    desired: DesiredState
    observed: ObservedState
    now: datetime
    skips: Mapping[SkipKey, str] = field(default_factory=dict)  # -> fingerprint when skipped


class _Builder:
    """Collects operations per phase; seqs are given in the final order, so dependencies
    (which only point at phase-1 operations) never need renumbering."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.objects: list[Operation] = []  # phase 1, already in final order
        self.later: dict[int, list[tuple[Any, ...]]] = {2: [], 3: [], 4: [], 5: []}
        self.by_object: dict[tuple[str, str], int] = {}
        self.skipped = 0

    def add_object(self, action: Action, kind: str, key: str, **kw: Any) -> int:
        seq = len(self.objects) + 1
        self.objects.append(
            Operation(seq=seq, target=self.target, action=action, kind=kind, key=key, **kw)
        )
        return seq

    def add_later(
        self,
        phase: int,
        sort_key: Any,
        action: Action,
        kind: str,
        key: str,
        parent: str | None,
        depends_on: tuple[int, ...],
        label: str,
        target_id: str | None = None,
        fingerprint: str = "",
    ) -> None:
        self.later[phase].append(
            (sort_key, action, kind, key, parent, depends_on, label, target_id, fingerprint)
        )

    def build(self) -> tuple[Operation, ...]:
        out = list(self.objects)
        seq = len(out)
        target = self.target
        for phase in (2, 3, 4, 5):
            rows = self.later[phase]
            if phase >= 4:  # links arrive in order already; retirements sort by kind rank
                rows.sort(key=lambda r: r[0])
            for _, action, kind, key, parent, deps, label, target_id, fp in rows:
                seq += 1
                out.append(
                    Operation(
                        seq, target, action, kind, key, parent, (), fp, deps, label, 0, 0, target_id
                    )
                )
        return tuple(out)


def plan(inp: PlanInput) -> Plan:
    """Diff desired against observed for one target."""
    b = _Builder(inp.target)
    desired, observed = inp.desired, inp.observed
    kinds = sorted(inp.kinds, key=lambda k: k.rank)
    going: set[tuple[str, str]] = set()  # objects deleted in this plan
    retired_parents: set[tuple[str, str]] = set()  # archived or kept: their links stay

    def skipped(action: Action, kind: str, key: str, parent: str | None, fp: str) -> bool:
        if not inp.skips:
            return False
        got = inp.skips.get((action.value, kind, key, parent or ""))
        if got is not None and got == fp:
            b.skipped += 1
            return True
        return False

    for spec in kinds:
        want = desired.objects.get(spec.name, {})
        have = observed.objects.get(spec.name, {})
        for key, d in want.items():
            o = have.get(key)
            if o is None:
                action = Action.CREATE
            elif o.suspended_at is not None or o.archived:
                action = Action.RESTORE
            elif o.fingerprint != d.fingerprint:
                action = Action.UPDATE
            else:
                continue
            if skipped(action, spec.name, key, None, d.fingerprint):
                continue
            deps = tuple(s for k in spec.depends_on if (s := b.by_object.get((k, key))) is not None)
            seq = b.add_object(
                action,
                spec.name,
                key,
                attrs=d.attrs,
                fingerprint=d.fingerprint,
                depends_on=deps,
                label=d.label,
                target_id=o.target_id if o else None,
            )
            b.by_object[(spec.name, key)] = seq
        for key, o in have.items():
            if key in want:
                continue
            retire = _retire(spec, o, inp.now)
            if retire is None:
                if spec.retire in ("archive", "keep"):
                    retired_parents.add((spec.name, key))
                continue
            if retire is Action.ARCHIVE:
                retired_parents.add((spec.name, key))
            if retire is Action.DELETE:
                going.add((spec.name, key))
            if skipped(retire, spec.name, key, None, o.fingerprint):
                continue
            phase = 5 if retire is Action.DELETE else 4
            rank = -spec.rank if retire is Action.DELETE else spec.rank
            b.add_later(
                phase,
                (rank, key),
                retire,
                spec.name,
                key,
                None,
                (),
                o.label,
                o.target_id,
                o.fingerprint,
            )

    for link in sorted(inp.links, key=lambda s: s.rank):
        want_l = desired.links.get(link.name, frozenset())
        have_l = observed.links.get(link.name, frozenset())
        if want_l == have_l:
            continue
        pk, ck = link.parent_kind, link.child_kind
        by_object = b.by_object
        plabel = _labels(desired.objects.get(pk, {}), observed.objects.get(pk, {}))
        clabel = _labels(desired.objects.get(ck, {}), observed.objects.get(ck, {}))
        have_p = observed.objects.get(pk, {})
        have_c = observed.objects.get(ck, {})
        add_later = b.add_later
        for parent, children in _by_parent(want_l - have_l):
            sp = by_object.get((pk, parent))
            if sp is None and parent not in have_p:
                b.skipped += len(children)  # the parent is not there and not being made
                continue
            plab = plabel.get(parent, parent)
            for child in children:
                if inp.skips and skipped(Action.LINK, link.name, child, parent, ""):
                    continue
                sc = by_object.get((ck, child))
                if sc is None and child not in have_c:
                    b.skipped += 1
                    continue
                deps = (sp, sc) if sp and sc else (sp,) if sp else (sc,) if sc else ()
                add_later(
                    2,
                    None,
                    Action.LINK,
                    link.name,
                    child,
                    parent,
                    deps,
                    f"{plab} ← {clabel.get(child, child)}",
                )
        for parent, children in _by_parent(have_l - want_l):
            if (pk, parent) in going or (pk, parent) in retired_parents:
                continue  # deleting removes its links; an archived class keeps its members
            plab = plabel.get(parent, parent)
            for child in children:
                if (ck, child) in going:
                    continue
                if inp.skips and skipped(Action.UNLINK, link.name, child, parent, ""):
                    continue
                add_later(
                    3,
                    None,
                    Action.UNLINK,
                    link.name,
                    child,
                    parent,
                    (),
                    f"{plab} ← {clabel.get(child, child)}",
                )

    return Plan(
        target=inp.target,
        operations=b.build(),
        observed_counts=observed.count(),
        desired_counts=desired.count(),
    )


def _by_parent(pairs: frozenset[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Links grouped by parent, both in a stable order, so a target can batch per parent."""
    groups: dict[str, list[str]] = {}
    for parent, child in pairs:
        groups.setdefault(parent, []).append(child)
    return [(p, sorted(groups[p])) for p in sorted(groups)]


def _labels(want: Mapping[str, DesiredObject], have: Mapping[str, MirrorObject]) -> dict[str, str]:
    """Labels of one kind's objects, desired first, for the links' labels."""
    out = {k: o.label for k, o in have.items() if o.label}
    out.update({k: d.label for k, d in want.items() if d.label})
    return out


def _retire(spec: KindSpec, o: MirrorObject, now: datetime) -> Action | None:
    """What to do with an object the source no longer has, or None to leave it."""
    if spec.retire == "delete":
        return Action.DELETE
    if spec.retire == "suspend":
        if o.suspended_at is None:
            return Action.SUSPEND
        if now - o.suspended_at >= timedelta(days=spec.grace_days):
            return Action.DELETE
        return None
    if spec.retire == "archive":
        return None if o.archived else Action.ARCHIVE
    return None


def apply_to_observed(
    observed: ObservedState, plan_: Plan, now: datetime, links_spec: Sequence[LinkSpec]
) -> ObservedState:
    """The observed state after every operation of the plan succeeded (for property tests and
    dry-run previews). Deleting an object removes its links, as targets do."""
    objects = {k: dict(v) for k, v in observed.objects.items()}
    links = {k: set(v) for k, v in observed.links.items()}
    for op in plan_.operations:
        if op.is_link:
            pair = (op.parent or "", op.key)
            if op.action is Action.LINK:
                links.setdefault(op.kind, set()).add(pair)
            else:
                links.setdefault(op.kind, set()).discard(pair)
            continue
        table = objects.setdefault(op.kind, {})
        current = table.get(op.key)
        if op.action in (Action.CREATE, Action.UPDATE, Action.RESTORE):
            table[op.key] = MirrorObject(
                op.kind,
                op.key,
                current.target_id if current else f"t-{op.kind}-{op.key}",
                op.fingerprint,
                op.attrs,
                None,
                False,
                op.label,
            )
        elif op.action is Action.SUSPEND and current:
            table[op.key] = _with_mirror(current, suspended_at=now)
        elif op.action is Action.ARCHIVE and current:
            table[op.key] = _with_mirror(current, archived=True)
        elif op.action is Action.DELETE:
            table.pop(op.key, None)
            for spec in links_spec:
                pairs = links.get(spec.name)
                if not pairs:
                    continue
                if spec.parent_kind == op.kind:
                    pairs -= {p for p in pairs if p[0] == op.key}
                if spec.child_kind == op.kind:
                    pairs -= {p for p in pairs if p[1] == op.key}
    return ObservedState(objects, {k: frozenset(v) for k, v in links.items()})


def _with_mirror(o: MirrorObject, **changes: object) -> MirrorObject:
    from dataclasses import replace

    return replace(o, **changes)  # type: ignore[arg-type]
