"""The guard: holds a plan that would remove too much, before anything is applied.

Thresholds are per object type, by count and by share of what the target holds now, and for
erosion (removals summed over the last runs). A held plan applies nothing until an operator
approves or rejects it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.config import GuardPolicy, KindThreshold
from engine.plan import REMOVALS, Action, Plan

LINK_REMOVAL = Action.UNLINK


@dataclass(frozen=True)
class Verdict:
    """Whether the plan is held, why, and what it would remove per type."""

    held: bool
    reasons: tuple[str, ...] = ()
    removals: Mapping[str, int] = field(default_factory=dict)  # "suspend user" -> n

    def as_dict(self) -> dict[str, object]:
        return {"held": self.held, "reasons": list(self.reasons), "removals": dict(self.removals)}


def removals_by_type(plan: Plan) -> Counter[str]:
    """Removal operations counted per object or link type (suspend and delete together)."""
    out: Counter[str] = Counter()
    for (action, kind), n in plan.counts().items():
        if Action(action) in _REMOVING:
            out[kind] += n
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
    for plan in plans:
        breakdown.update(removal_breakdown(plan))
        going = removals_by_type(plan)
        for kind, n in sorted(going.items()):
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
    return Verdict(held=bool(reasons), reasons=tuple(reasons), removals=dict(breakdown))


def _threshold(policy: GuardPolicy, kind: str, is_link: bool) -> KindThreshold:
    if kind in policy.per_type:
        return policy.per_type[kind]
    return policy.links if is_link else policy.objects
