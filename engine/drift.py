"""Drift policy: what a run does with changes made by hand in a target.

A target that ``reads_drift`` reports the mirror as it found the service (its ``refresh``);
this is the one place that decides what the planner then works from: with ``drift = "repair"``
the corrected mirror, so the plan puts the target back; with ``"report"`` the mirror as it
was, so nothing is planned for what changed by hand and the run only says what it found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.links import EMPTY_LINKS
from engine.target import ObservedState

DriftPolicy = Literal["repair", "report"]


@dataclass(frozen=True)
class DriftDecision:
    """What the planner works from, what was found (``""``: nothing) and whether it is
    repaired (the corrected mirror replaces the journal's)."""

    observed: ObservedState
    found: str
    repaired: bool


def decide_drift(
    policy: DriftPolicy, mirror: ObservedState, refreshed: ObservedState
) -> DriftDecision:
    """Apply the tenant's drift policy to a target's refreshed mirror."""
    if refreshed is mirror or refreshed == mirror:
        return DriftDecision(mirror, "", False)
    found = describe_drift(mirror, refreshed)
    if not found:
        return DriftDecision(mirror, "", False)
    if policy == "repair":
        return DriftDecision(refreshed, found, True)
    return DriftDecision(mirror, found, False)


def describe_drift(before: ObservedState, after: ObservedState) -> str:
    """Counts of what differs, per object and link kind (``""`` when nothing does)."""
    parts = []
    for kind in sorted(set(before.links) | set(after.links)):
        b, a = before.links.get(kind, EMPTY_LINKS), after.links.get(kind, EMPTY_LINKS)
        if a != b:
            b_pairs, a_pairs = set(b), set(a)
            parts.append(
                f"{kind}: {len(b_pairs - a_pairs)} removed, {len(a_pairs - b_pairs)} added by hand"
            )
    for kind in sorted(set(before.objects) | set(after.objects)):
        b_o, a_o = before.objects.get(kind, {}), after.objects.get(kind, {})
        # a row differs in its fingerprint, or in its state (re-enabled, unarchived by hand)
        changed = sum(1 for k, o in a_o.items() if k in b_o and b_o[k] != o)
        gone = len(b_o.keys() - a_o.keys())
        found = len(a_o.keys() - b_o.keys())
        if changed or gone or found:
            parts.append(
                f"{kind}: {changed} changed, {gone} gone"
                + (f", {found} found in the target" if found else "")
            )
    return "; ".join(parts)
