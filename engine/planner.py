"""Desired against observed: a plan of operations with dependencies and a safe order.

Creates before memberships, additions before removals, suspensions before deletions, deletions
last (see :class:`engine.plan.Phase`). Unchanged records cost one fingerprint comparison; a run
with no source change plans zero operations. The planner is pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from engine.links import EMPTY_LINKS, LinkSet
from engine.model import Refused
from engine.plan import Action, LinkRun, Operation, Plan
from engine.target import (
    FINGERPRINT_LENGTH,
    Attrs,
    DesiredState,
    KindSpec,
    LinkSpec,
    MirrorObject,
    ObservedState,
    is_legacy_of,
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
    held: Mapping[str, Collection[str]] = field(default_factory=dict)  # kind -> keys (refused)


def held_keys(
    record_types: Mapping[str, str], kinds: Iterable[KindSpec], refused: Refused
) -> dict[str, frozenset[str]]:
    """The keys of each object kind whose source record was refused (see
    :class:`engine.model.Refused`): ``record_types`` says which record a kind stands for. The
    planner plans no removal of them, nor of a link where one is parent or child."""
    out: dict[str, frozenset[str]] = {}
    if not refused:
        return out
    for spec in kinds:
        record_type = record_types.get(spec.name)
        ids = refused.of(record_type) if record_type else frozenset()
        if ids:
            out[spec.name] = ids
    return out


class _Builder:
    """Collects operations in their final order: objects (phase 1) first, then links
    (additions before removals), then retirements. Seqs are given as operations are made, so
    dependencies (which only point at phase-1 operations) never need renumbering."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.ops: list[Operation] = []  # object operations (phase 1)
        self.runs: list[LinkRun] = []  # link operations, one run per parent and link kind
        self.made = 0  # operations so far, objects and links: the last seq given
        self.retire: dict[int, list[tuple[Any, ...]]] = {4: [], 5: []}
        self.seqs: dict[str, dict[str, int]] = {}  # kind -> key -> seq of its phase-1 operation
        self.creates: dict[str, dict[str, int]] = {}  # kind -> key -> seq of create or restore
        self.skipped = 0
        self._known: dict[str, dict[str, tuple[int, str]]] = {}
        self._created_by: dict[tuple[str, str], dict[str, int]] = {}

    def known(
        self, desired: DesiredState, observed: ObservedState, kind: str
    ) -> dict[str, tuple[int, str]]:
        """One kind's objects that are there or being made in this plan, as key -> (seq of
        its phase-1 operation or 0, label); made once per plan, one look-up per link."""
        got = self._known.get(kind)
        if got is not None:
            return got
        got = {k: (0, o.label or k) for k, o in observed.objects.get(kind, {}).items()}
        seq_of = self.seqs.get(kind, {})
        for k, d in desired.objects.get(kind, {}).items():
            seq = seq_of.get(k, 0)
            old = got.get(k)
            if old is None and not seq:
                continue  # neither there nor being made (its create was skipped)
            got[k] = (seq, d.label or (old[1] if old else k))
        self._known[kind] = got
        return got

    def created(self, desired: DesiredState, kind: str, by: str) -> Mapping[str, int]:
        """The creates (and restores) of one kind in this plan, as key -> seq, or with ``by`` as the
        value of that attribute -> seq (made once per plan, only for a kind that is needed)."""
        creates = self.creates.get(kind, {})
        if not by or not creates:
            return creates
        got = self._created_by.get((kind, by))
        if got is None:
            want = desired.objects.get(kind, {})
            got = {}
            for key, seq in creates.items():
                value = dict(want[key].attrs).get(by)
                if value is not None:
                    got[str(value)] = seq
            self._created_by[(kind, by)] = got
        return got

    def skip(
        self,
        inp: PlanInput,
        action: Action,
        kind: str,
        key: str,
        parent: str | None,
        fingerprint: str = "",
        attrs: Attrs | None = None,
    ) -> bool:
        """True when an operator skipped this very operation (same fingerprint).

        A skip made before schema 2 holds a legacy fingerprint: it still holds when it is the
        legacy fingerprint of ``attrs``, the attributes ``fingerprint`` was made from.
        """
        got = inp.skips.get((action.value, kind, key, parent or ""))
        if got is not None and (
            got == fingerprint or (attrs is not None and is_legacy_of(got, attrs))
        ):
            self.skipped += 1
            return True
        return False

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
        children: Collection[str],
        parent_seq: int,
        known: Mapping[str, tuple[int, str]],
        label_head: str,
    ) -> None:
        """The operations for one parent's links, kept as one run (see
        :class:`engine.plan.LinkRun`) rather than one object per link."""
        if children:
            seq = self.made + 1
            self.made += len(children)
            self.runs.append(
                LinkRun(seq, action, link, parent, children, parent_seq, label_head, known)
            )

    def build(self, observed: ObservedState, desired: DesiredState) -> Plan:
        retired: list[Operation] = []
        seq, target = self.made, self.target
        for phase in (4, 5):
            rows = self.retire[phase]
            rows.sort(key=lambda r: r[0])
            for _, action, kind, key, label, target_id, fp in rows:
                seq += 1
                retired.append(
                    Operation(
                        seq, target, action, kind, key, None, (), fp, (), label, 0, 0, target_id
                    )
                )
        return Plan(
            target=target,
            objects=tuple(self.ops),
            links=tuple(self.runs),
            retirements=tuple(retired),
            observed_counts=observed.count(),
            desired_counts=desired.count(),
        )


def plan(inp: PlanInput) -> Plan:
    """Diff desired against observed for one target. What the target says is waiting (wanted
    but not makeable yet) is held like a refused record: nothing made, nothing removed."""
    if inp.desired.waiting:
        with_waiting: dict[str, Collection[str]] = dict(inp.held)
        for kind, keys in inp.desired.waiting.items():
            with_waiting[kind] = frozenset(with_waiting.get(kind, ())) | keys
        inp = replace(inp, held=with_waiting)
    b = _Builder(inp.target)
    desired, observed = inp.desired, inp.observed
    kinds = sorted(inp.kinds, key=lambda k: k.rank)
    going: dict[str, set[str]] = {}  # kind -> keys deleted in this plan
    kept: dict[str, set[str]] = {}  # kind -> keys archived or kept: their links stay

    ops, target, make = b.ops, inp.target, tuple.__new__
    for spec in kinds:
        kind = spec.name
        want = desired.objects.get(kind, {})
        have = observed.objects.get(kind, {})
        held = inp.held.get(kind, ())
        seqs = b.seqs.setdefault(kind, {})
        creates = b.creates.setdefault(kind, {})
        before = [b.seqs.get(k, {}) for k in spec.depends_on]
        needed = [(n.attribute, b.created(desired, n.kind, n.by)) for n in spec.needs]
        for key, d in want.items():
            o = have.get(key)
            if o is None:
                action = Action.CREATE
            elif o.suspended_at is not None or o.archived:
                action = Action.RESTORE
            elif o.fingerprint != d.fingerprint and not is_legacy_of(o.fingerprint, d.attrs):
                action = Action.UPDATE  # a legacy fingerprint of unchanged attrs is no change
            else:
                continue
            if inp.skips and b.skip(inp, action, kind, key, None, d.fingerprint, d.attrs):
                continue
            deps = tuple(s for m in before if (s := m.get(key)) is not None) if before else ()
            if needed:
                deps = _with_needs(deps, d.attrs, needed)
            seq = b.made = len(ops) + 1
            ops.append(
                make(
                    Operation,
                    (
                        seq,
                        target,
                        action,
                        kind,
                        key,
                        None,
                        d.attrs,
                        d.fingerprint,
                        deps,
                        d.label,
                        0,
                        0,
                        o.target_id if o else None,
                        None,
                    ),
                )
            )
            seqs[key] = seq
            if action is not Action.UPDATE:  # made, or re-enabled: not usable until then
                creates[key] = seq
        for key, o in have.items():
            if key in want:
                continue
            if key in held:
                continue  # the source lists it but it was refused: unknown, not gone
            retire = _retire(spec, o, inp.now)
            if retire is None:
                if spec.retire in ("archive", "keep"):
                    kept.setdefault(spec.name, set()).add(key)
                continue
            if retire is Action.ARCHIVE:
                kept.setdefault(spec.name, set()).add(key)
            if retire is Action.DELETE:
                going.setdefault(spec.name, set()).add(key)
            if inp.skips and b.skip(inp, retire, spec.name, key, None, o.fingerprint, _vouch(o)):
                continue
            phase = 5 if retire is Action.DELETE else 4
            rank = -spec.rank if retire is Action.DELETE else spec.rank
            b.add_retirement(
                phase, (rank, key), retire, spec.name, key, o.label, o.target_id, o.fingerprint
            )

    links = sorted(inp.links, key=lambda s: s.rank)
    changed = [
        (ls, want_l, have_l)
        for ls in links
        if (want_l := desired.links.get(ls.name, EMPTY_LINKS))
        != (have_l := observed.links.get(ls.name, EMPTY_LINKS))
    ]
    # Additions of link kinds that share a parent kind come parent by parent (a class's
    # members, then its teachers), so a target can send one parent's links in one request.
    by_parent_kind: dict[str, list[tuple[LinkSpec, LinkSet, LinkSet]]] = {}
    for entry in changed:
        by_parent_kind.setdefault(entry[0].parent_kind, []).append(entry)
    for group in by_parent_kind.values():
        _additions(b, inp, group)
    for ls, want_l, have_l in changed:
        _removals(b, inp, ls, want_l, have_l, going, kept)

    return b.build(observed, desired)


def _additions(
    b: _Builder, inp: PlanInput, group: Sequence[tuple[LinkSpec, LinkSet, LinkSet]]
) -> None:
    """Links to add for link kinds with one parent kind, parent by parent and within a parent
    kind by kind; each depends on its parent and child being made. An addition whose child is
    neither there nor being made (left out, e.g. blocked) is skipped."""
    desired, observed = inp.desired, inp.observed
    specs = []
    for link, want_l, have_l in group:
        children = b.known(desired, observed, link.child_kind)
        wanted = set().union(*want_l.by_parent.values())  # C-level: no step per link
        missing = wanted.difference(children)
        specs.append(
            (
                link,
                want_l.by_parent,
                have_l.by_parent,
                b.known(desired, observed, link.parent_kind),
                children,
                missing,
            )
        )
    parents = sorted(set().union(*(want_by for _, want_by, _, _, _, _ in specs)))
    for parent in parents:
        for link, want_by, have_by, known_parents, children, missing in specs:
            want_kids = want_by.get(parent)
            if want_kids is None:
                continue
            have_kids = have_by.get(parent)
            if have_kids == want_kids:
                continue
            kids = want_kids - have_kids if have_kids else want_kids
            p = known_parents.get(parent)
            if p is None:
                b.skipped += len(kids)  # the parent is not there and not being made
                continue
            if missing and not missing.isdisjoint(kids):
                kept = kids - missing
                b.skipped += len(kids) - len(kept)
                kids = kept
            if inp.skips:
                kids = frozenset(
                    c for c in kids if not b.skip(inp, Action.LINK, link.name, c, parent)
                )
            b.add_links(Action.LINK, link.name, parent, kids, p[0], children, f"{p[1]} ← ")


def _removals(
    b: _Builder,
    inp: PlanInput,
    link: LinkSpec,
    want_l: LinkSet,
    have_l: LinkSet,
    going: Mapping[str, set[str]],
    kept: Mapping[str, set[str]],
) -> None:
    """Links to remove, parent by parent; none for a parent being deleted (that removes its
    links) or archived (an archived class keeps its members), none to a child being deleted,
    none where the parent or the child is held (its source record was refused)."""
    pk, ck = link.parent_kind, link.child_kind
    desired, observed = inp.desired, inp.observed
    parents, children = b.known(desired, observed, pk), b.known(desired, observed, ck)
    p_going, p_kept = going.get(pk, set()), kept.get(pk, set())
    c_going = going.get(ck, set())
    p_held, c_held = inp.held.get(pk, ()), inp.held.get(ck, ())
    want_by, have_by = want_l.by_parent, have_l.by_parent
    for parent in sorted(have_by):
        have_kids, want_kids = have_by[parent], want_by.get(parent)
        if want_kids == have_kids or parent in p_going or parent in p_kept or parent in p_held:
            continue
        kids = have_kids - want_kids if want_kids else have_kids
        if c_going and not c_going.isdisjoint(kids):
            kids = kids - c_going
        if c_held and not kids.isdisjoint(c_held):
            kids = kids.difference(c_held)
        if inp.skips:
            kids = frozenset(
                c for c in kids if not b.skip(inp, Action.UNLINK, link.name, c, parent)
            )
        label = parents.get(parent, (0, parent))[1]
        b.add_links(Action.UNLINK, link.name, parent, kids, 0, children, f"{label} ← ")


def _with_needs(
    deps: tuple[int, ...], attrs: Attrs, needed: Sequence[tuple[str, Mapping[str, int]]]
) -> tuple[int, ...]:
    """``deps`` plus the creates (or restores) in this plan of the objects ``attrs`` names
    (see :attr:`engine.target.KindSpec.needs`), in seq order without a repeat; an object that
    is there and enabled already adds no edge, so such plans stay as they were."""
    values = dict(attrs)
    extra: list[int] = []
    for attr, creates in needed:
        if not creates:
            continue
        value = values.get(attr)
        keys = value if isinstance(value, tuple | list) else (value,)
        for k in keys:
            seq = creates.get(str(k)) if k is not None else None
            if seq is not None and seq not in deps and seq not in extra:
                extra.append(seq)
    return tuple(sorted((*deps, *extra))) if extra else deps


def _vouch(o: MirrorObject) -> Attrs | None:
    """The attributes a mirror row's fingerprint was made from, when it is a current one: a
    legacy skip of the row's retirement is checked against their legacy fingerprint. A legacy
    fingerprint or a sentinel such as ``drifted`` is compared as it is (``None``)."""
    return o.attrs if len(o.fingerprint) == FINGERPRINT_LENGTH else None


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
    return apply_operations(observed, plan_.operations, now, links_spec)


def apply_operations(
    observed: ObservedState,
    operations: Iterable[Operation],
    now: datetime,
    links_spec: Sequence[LinkSpec],
    target_ids: Mapping[tuple[str, str], str] | None = None,
) -> ObservedState:
    """The observed state after these operations took effect, in their order. ``target_ids``
    gives the ids the target assigned (kind, key); without it an object keeps the id it had,
    or gets a made-up one."""
    objects = {k: dict(v) for k, v in observed.objects.items()}
    links = {k: set(v) for k, v in observed.links.items()}
    for op in operations:
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
            if target_ids is not None:
                target_id = target_ids.get((op.kind, op.key))
            else:
                target_id = current.target_id if current else f"t-{op.kind}-{op.key}"
            table[op.key] = MirrorObject(
                op.kind,
                op.key,
                target_id,
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
