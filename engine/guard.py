"""The guard: holds a plan that would remove too much, or grow or change too much, before
anything is applied.

Thresholds are per object type, by count and by share of what the target holds now, and for
erosion (removals summed over the last runs). Growth (creates and restores, net of the same
type's removals) and updates are held when they pass both a share of a non-empty base and a
count. A held plan applies nothing until an operator approves or rejects it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.config import GrowthThreshold, GuardPolicy, KindThreshold
from engine.plan import REMOVALS, Action, Plan

LINK_REMOVAL = Action.UNLINK


@dataclass(frozen=True)
class Verdict:
    """Whether the plan is held, why, and what it would remove per type."""

    held: bool
    reasons: tuple[str, ...] = ()
    removals: Mapping[str, int] = field(default_factory=dict)  # "suspend user" -> n
    growth: Mapping[str, int] = field(default_factory=dict)  # "create user" -> n, when held

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "held": self.held,
            "reasons": list(self.reasons),
            "removals": dict(self.removals),
        }
        if self.growth:
            out["growth"] = dict(self.growth)
        return out


def removals_by_type(plan: Plan) -> Counter[str]:
    """Removal operations counted per object or link type (suspend and delete together)."""
    out: Counter[str] = Counter()
    for (action, kind), n in plan.counts().items():
        if Action(action) in _REMOVING:
            out[kind] += n
    return out


def judged_removals(plan: Plan) -> Counter[str]:
    """Removals per type as the guard judges them: an archive that a create of the same type
    replaces is not counted. A year rollover archives every class of last year and creates
    this year's; an archived class is kept, read-only, and can be restored, so a replacement
    is no loss. Suspensions and deletions always count."""
    counts = plan.counts()
    out = removals_by_type(plan)
    for (action, kind), n in counts.items():
        if action == Action.ARCHIVE.value:
            out[kind] -= min(n, counts.get((Action.CREATE.value, kind), 0))
    return out


def removal_breakdown(plan: Plan) -> Counter[str]:
    return Counter(
        {
            f"{action} {kind}": n
            for (action, kind), n in plan.counts().items()
            if Action(action) in _REMOVING
        }
    )


_REMOVING = REMOVALS | {LINK_REMOVAL}


def judge(
    plans: Sequence[Plan],
    policy: GuardPolicy,
    link_kinds: set[str],
    history: Sequence[Mapping[str, int]] = (),
) -> Verdict:
    """Judge all of a run's plans together; ``history`` holds removals per type of earlier
    runs, newest first."""
    reasons: list[str] = []
    breakdown: Counter[str] = Counter()
    grown: Counter[str] = Counter()
    for plan in plans:
        breakdown.update(removal_breakdown(plan))
        going = judged_removals(plan)
        for kind, n in sorted(going.items()):
            if not n:
                continue
            base = plan.observed_counts.get(kind, 0)
            is_link = kind in link_kinds
            limit = _threshold(policy, kind, is_link)
            where = f"{plan.target} {kind}"
            if limit.count is not None and n > limit.count:
                reasons.append(f"{where}: {n} would go, more than the limit of {limit.count}")
                continue
            if base >= 2 and n >= base:
                reasons.append(f"{where}: all {base} would go")
                continue
            if base >= policy.min_base and base and n / base > limit.share:
                reasons.append(
                    f"{where}: {n} of {base} ({n / base:.1%}) would go, more than {limit.share:.0%}"
                )
                continue
            earlier = sum(h.get(kind, 0) for h in history[: policy.erosion_runs - 1])
            if (
                not is_link
                and earlier
                and base >= policy.min_base
                and (n + earlier) / base > policy.erosion_share
            ):
                reasons.append(
                    f"{where}: erosion — {n + earlier} removed over the last "
                    f"{min(len(history) + 1, policy.erosion_runs)} runs "
                    f"({(n + earlier) / base:.1%} of {base}), more than "
                    f"{policy.erosion_share:.0%}"
                )
        _growth(plan, policy, link_kinds, reasons, grown)
    return Verdict(
        held=bool(reasons), reasons=tuple(reasons), removals=dict(breakdown), growth=dict(grown)
    )


_ADDING = frozenset({Action.CREATE, Action.RESTORE})


def _growth(
    plan: Plan,
    policy: GuardPolicy,
    link_kinds: set[str],
    reasons: list[str],
    grown: Counter[str],
) -> None:
    """Reasons to hold for object types that would grow, or be updated, past their threshold.

    Growth is what the type would hold after the plan less what it holds now (the desired
    count less the observed), and no more than it creates or restores: a year rollover
    replaces last year's classes with this year's, whether the old ones are archived or kept,
    and adds nothing. The base is what the target holds now; with none (a first sync) there
    is nothing to judge against."""
    added: Counter[str] = Counter()
    updated: Counter[str] = Counter()
    for (action, kind), n in plan.counts().items():
        if kind in link_kinds:
            continue
        act = Action(action)
        if act in _ADDING:
            added[kind] += n
        elif act is Action.UPDATE:
            updated[kind] += n
    for kind in sorted(set(added) | set(updated)):
        base = plan.observed_counts.get(kind, 0)
        if not base:
            continue
        limit = policy.growth_per_type.get(kind, policy.growth)
        where = f"{plan.target} {kind}"
        growth = min(added[kind], plan.desired_counts.get(kind, 0) - base)
        for n, verb, action in (
            (growth, "be added", "create"),
            (updated[kind], "change", "update"),
        ):
            if _grows_past(n, base, limit):
                grown[f"{action} {kind}"] += n
                reasons.append(
                    f"{where}: {n} would {verb} on a base of {base} ({n / base:.0%}), more "
                    f"than {limit.share:.0%} and more than {limit.count}"
                )


def _grows_past(n: int, base: int, limit: GrowthThreshold) -> bool:
    return n > limit.count and n / base > limit.share


def _threshold(policy: GuardPolicy, kind: str, is_link: bool) -> KindThreshold:
    if kind in policy.per_type:
        return policy.per_type[kind]
    return policy.links if is_link else policy.objects
