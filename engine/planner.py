"""Desired against observed: a plan of operations with dependencies and a safe order.

Creates before memberships, additions before removals, suspensions before deletions, deletions
last (see :class:`engine.plan.Phase`). Unchanged records cost one fingerprint comparison; a run
with no source change plans zero operations. The planner is pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.links import EMPTY_LINKS, LinkSet
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
    """Collects operations in their final order: objects (phase 1) first, then links
    (additions before removals), then retirements. Seqs are given as operations are made, so
    dependencies (which only point at phase-1 operations) never need renumbering."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.ops: list[Operation] = []
        self.retire: dict[int, list[tuple[Any, ...]]] = {4: [], 5: []}
        self.by_object: dict[tuple[str, str], int] = {}
        self.skipped = 0
        self._labels: dict[str, dict[str, str]] = {}

    def labels(self, desired: DesiredState, observed: ObservedState, kind: str) -> dict[str, str]:
        """One kind's labels for the links' labels, made once per plan."""
        got = self._labels.get(kind)
        if got is None:
            got = self._labels[kind] = _labels(
                desired.objects.get(kind, {}), observed.objects.get(kind, {})
            )
        return got

    def add_object(self, action: Action, kind: str, key: str, **kw: Any) -> int:
        seq = len(self.ops) + 1
        self.ops.append(
            Operation(seq=seq, target=self.target, action=action, kind=kind, key=key, **kw)
        )
        return seq

    def add_retirement(
        self,
        phase: int,
        sort_key: Any,
        action: Action,
        kind: str,
        key: str,
        label: str,
        target_id: str | None,
        fingerprint: str,
    ) -> None:
        self.retire[phase].append((sort_key, action, kind, key, label, target_id, fingerprint))

    def add_links(
        self,
        action: Action,
        link: str,
        parent: str,
        children: Iterable[str],
        parent_seq: int | None,
        child_seqs: Mapping[str, int],
        present: Container[str] | None,
        label_head: str,
        labels: Mapping[str, str],
    ) -> None:
        """One operation per child of one parent, made as plain tuples (two million of these
        are the bulk of a first sync). With ``present`` given, a child that is neither there
        nor being made in this plan is skipped (it was left out, e.g. blocked)."""
        ops, target, make, get_seq = self.ops, self.target, tuple.__new__, child_seqs.get
        seq = len(ops)
        for child in children:
            sc = get_seq(child)
            if sc is None and present is not None and child not in present:
                self.skipped += 1
                continue
            seq += 1
            if parent_seq:
                deps: tuple[int, ...] = (parent_seq, sc) if sc else (parent_seq,)
            else:
                deps = (sc,) if sc else ()
            label = f"{label_head}{labels.get(child, child)}"
            ops.append(
                make(
                    Operation,
                    (
                        seq,
                        target,
                        action,
                        link,
                        child,
                        parent,
                        (),
                        "",
                        deps,
                        label,
                        0,
                        0,
                        None,
                        None,
                    ),
                )
            )

    def build(self) -> tuple[Operation, ...]:
        out, target = self.ops, self.target
        seq = len(out)
        for phase in (4, 5):
            rows = self.retire[phase]
            rows.sort(key=lambda r: r[0])
            for _, action, kind, key, label, target_id, fp in rows:
                seq += 1
                out.append(
                    Operation(
                        seq, target, action, kind, key, None, (), fp, (), label, 0, 0, target_id
                    )
                )
        return tuple(out)


Skipped = Callable[[Action, str, str, str | None, str], bool]


def plan(inp: PlanInput) -> Plan:
    """Diff desired against observed for one target."""
    b = _Builder(inp.target)
    desired, observed = inp.desired, inp.observed
    kinds = sorted(inp.kinds, key=lambda k: k.rank)
    going: dict[str, set[str]] = {}  # kind -> keys deleted in this plan
    kept: dict[str, set[str]] = {}  # kind -> keys archived or kept: their links stay

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
                    kept.setdefault(spec.name, set()).add(key)
                continue
            if retire is Action.ARCHIVE:
                kept.setdefault(spec.name, set()).add(key)
            if retire is Action.DELETE:
                going.setdefault(spec.name, set()).add(key)
            if skipped(retire, spec.name, key, None, o.fingerprint):
                continue
            phase = 5 if retire is Action.DELETE else 4
            rank = -spec.rank if retire is Action.DELETE else spec.rank
            b.add_retirement(
                phase, (rank, key), retire, spec.name, key, o.label, o.target_id, o.fingerprint
            )

    seqs: dict[str, dict[str, int]] = {}  # kind -> key -> seq of its phase-1 operation
    for (kind, key), seq in b.by_object.items():
        seqs.setdefault(kind, {})[key] = seq

    links = sorted(inp.links, key=lambda s: s.rank)
    changed = [
        (ls, want_l, have_l)
        for ls in links
        if (want_l := desired.links.get(ls.name, EMPTY_LINKS))
        != (have_l := observed.links.get(ls.name, EMPTY_LINKS))
    ]
    for ls, want_l, have_l in changed:
        _additions(b, inp, ls, want_l, have_l, seqs, skipped)
    for ls, want_l, have_l in changed:
        _removals(b, inp, ls, want_l, have_l, going, kept, skipped)

    return Plan(
        target=inp.target,
        operations=b.build(),
        observed_counts=observed.count(),
        desired_counts=desired.count(),
    )


def _additions(
    b: _Builder,
    inp: PlanInput,
    link: LinkSpec,
    want_l: LinkSet,
    have_l: LinkSet,
    seqs: Mapping[str, Mapping[str, int]],
    skipped: Skipped,
) -> None:
    """Links to add, parent by parent; each depends on its parent and child being made."""
    pk, ck = link.parent_kind, link.child_kind
    desired, observed = inp.desired, inp.observed
    plabel, clabel = b.labels(desired, observed, pk), b.labels(desired, observed, ck)
    have_p = observed.objects.get(pk, {})
    have_c = observed.objects.get(ck, {})
    p_seqs, c_seqs = seqs.get(pk, {}), seqs.get(ck, {})
    have_by = have_l.by_parent
    for parent, want_kids in want_l.by_parent.items():
        have_kids = have_by.get(parent)
        if have_kids == want_kids:
            continue
        kids: Sequence[str] = want_kids
        if have_kids:
            there = set(have_kids)
            kids = [c for c in want_kids if c not in there]
        sp = p_seqs.get(parent)
        if sp is None and parent not in have_p:
            b.skipped += len(kids)  # the parent is not there and not being made
            continue
        if inp.skips:
            kids = [c for c in kids if not skipped(Action.LINK, link.name, c, parent, "")]
        head = f"{plabel.get(parent, parent)} ← "
        b.add_links(Action.LINK, link.name, parent, kids, sp, c_seqs, have_c, head, clabel)


def _removals(
    b: _Builder,
    inp: PlanInput,
    link: LinkSpec,
    want_l: LinkSet,
    have_l: LinkSet,
    going: Mapping[str, set[str]],
    kept: Mapping[str, set[str]],
    skipped: Skipped,
) -> None:
    """Links to remove, parent by parent; none for a parent being deleted (that removes its
    links) or archived (an archived class keeps its members), none to a child being deleted."""
    pk, ck = link.parent_kind, link.child_kind
    desired, observed = inp.desired, inp.observed
    plabel, clabel = b.labels(desired, observed, pk), b.labels(desired, observed, ck)
    p_going, p_kept = going.get(pk, set()), kept.get(pk, set())
    c_going = going.get(ck, set())
    want_by = want_l.by_parent
    for parent, have_kids in have_l.by_parent.items():
        want_kids = want_by.get(parent)
        if want_kids == have_kids or parent in p_going or parent in p_kept:
            continue
        wanted = set(want_kids) if want_kids else set()
        kids = [c for c in have_kids if c not in wanted and c not in c_going]
        if inp.skips:
            kids = [c for c in kids if not skipped(Action.UNLINK, link.name, c, parent, "")]
        head = f"{plabel.get(parent, parent)} ← "
        b.add_links(Action.UNLINK, link.name, parent, kids, None, {}, None, head, clabel)


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
    return ObservedState(objects, {k: LinkSet(v) for k, v in links.items()})


def _with_mirror(o: MirrorObject, **changes: object) -> MirrorObject:
    from dataclasses import replace

    return replace(o, **changes)  # type: ignore[arg-type]
