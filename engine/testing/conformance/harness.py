"""What a target must offer the conformance suite: one ``TargetHarness`` per target.

The harness knows how to configure the target (its ess.toml table), how to read what the target
really holds by natural key (:class:`TrueState`), how to make faults and drift happen, and which
cases cannot apply to it and why. The cases (:mod:`engine.testing.conformance.cases`) then hold
every target to the same contract through the engine's real paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from engine.model import Snapshot


class ConformanceFailure(AssertionError):
    """A target broke the contract: the message names the case's promise and what was seen."""


class Fault(StrEnum):
    """Faults a harness can make its target answer with."""

    SERVER_ERROR = "server_error"  # a 5xx before the write: nothing applied
    SERVER_ERROR_APPLIED = "server_error_applied"  # the write applied, then a 5xx
    TIMEOUT = "timeout"  # no answer in time; applied or not, the client cannot tell
    THROTTLE = "throttle"  # 429 with Retry-After
    TENANT = "tenant"  # a tenant-level refusal: revoked consent or secret, no permission


@dataclass(frozen=True)
class TrueState:
    """What a target really holds, read from it by natural key.

    ``live``: kind -> key -> comparable attributes of present, unsuspended, unarchived objects;
    ``present``: kind -> keys present in any state; ``suspended``: kind -> keys; ``links``: link
    kind -> (parent key, child key) pairs; ``copies``: "kind:key" -> how many objects the target
    holds (or made) for that key, so a duplicate shows.
    """

    live: Mapping[str, Mapping[str, Any]]
    present: Mapping[str, frozenset[str]] = field(default_factory=dict)
    suspended: Mapping[str, frozenset[str]] = field(default_factory=dict)
    links: Mapping[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    copies: Mapping[str, int] = field(default_factory=dict)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.copies.items() if n > 1}


@dataclass(frozen=True)
class Wanted:
    """The desired state in the same terms as :class:`TrueState`: live objects and links."""

    live: Mapping[str, Mapping[str, Any]]
    links: Mapping[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Drift:
    """A change made by hand in the target, outside ESS, and what repairing it means."""

    description: str
    kind: str  # the object kind (or link kind) changed
    key: str


class TargetHarness(Protocol):
    """One target under the conformance suite (one fixture provides it per target)."""

    name: str
    """The target's name in ess.toml (also the test id)."""
    inapplicable: Mapping[str, str]
    """Case name -> why it cannot apply to this target; the suite skips it with that reason."""

    def table(self) -> dict[str, Any]:
        """The target's ess.toml table as it stands (faults included where the table has them)."""
        ...

    def env(self) -> dict[str, str]:
        """Environment a run needs, secrets by reference (a crash run's subprocess gets it)."""
        ...

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        """From now on answer writes with each fault at its rate (``seed`` fixes the draw);
        an empty mix stops all faults. ``TENANT`` refuses every request until stopped."""
        ...

    def throttle_record(self) -> tuple[int, int]:
        """(429s the target sent, writes it received again before their Retry-After ran out)."""
        ...

    def truth(self) -> TrueState: ...

    def wanted(self, snap: Snapshot) -> Wanted: ...

    def make_by_hand(self, snap: Snapshot) -> str:
        """Make one object ``snap`` wants in the target as an administrator would, before ESS
        knows it (ESS must adopt it, not make a second); returns "kind:key"."""
        ...

    def drift(self, snap: Snapshot) -> Drift:
        """Change, by hand, one object or link ESS manages for ``snap``."""
        ...

    async def aclose(self) -> None: ...


def differences(truth: TrueState, want: Wanted) -> list[str]:
    """How the target differs from the desired state, as readable lines (empty: equal)."""
    out: list[str] = []
    for kind in sorted(set(truth.live) | set(want.live)):
        have, need = truth.live.get(kind, {}), want.live.get(kind, {})
        out += [f"{kind} {k}: desired but not live" for k in sorted(set(need) - set(have))]
        out += [f"{kind} {k}: live but not desired" for k in sorted(set(have) - set(need))]
        out += [
            f"{kind} {k}: attributes {have[k]} != desired {need[k]}"
            for k in sorted(set(have) & set(need))
            if have[k] != need[k]
        ]
    for kind in sorted(set(truth.links) | set(want.links)):
        have_l, need_l = truth.links.get(kind, frozenset()), want.links.get(kind, frozenset())
        out += [f"{kind} {p}/{c}: desired link missing" for p, c in sorted(need_l - have_l)]
        out += [f"{kind} {p}/{c}: link not desired" for p, c in sorted(have_l - need_l)]
    return out


def capability_gaps(target_type: type) -> dict[str, str]:
    """Cases a target's own declared capabilities rule out, by family, with the reason: a target
    whose refresh reads no change made by hand (``reads_drift = False``) cannot repair drift.
    A target that does not declare the flag is held to every case."""
    if getattr(target_type, "reads_drift", True) is False:
        return {
            "drift": f"{target_type.__name__} declares reads_drift = False: its refresh reads "
            "no change made by hand"
        }
    return {}
