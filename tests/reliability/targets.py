"""Targets as the reliability suites see them: how to configure one (with faults or without),
and how to read its true state, so that the same checks run against every target.

A conformance suite adds a target by adding one ``TargetKit`` here and one entry to the
``target_kit`` fixture in conftest.py.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig


@dataclass(frozen=True)
class TrueState:
    """What a target really holds, by natural key.

    ``live``: kind -> key -> comparable attributes of present, unsuspended, unarchived objects;
    ``present``: kind -> keys present in any state; ``suspended``/``archived``: kind -> keys;
    ``links``: link kind -> (parent key, child key) pairs; ``copies``: "kind:key" -> how many
    objects the target holds (or made) for that natural key.
    """

    live: dict[str, dict[str, Any]]
    present: dict[str, set[str]]
    suspended: dict[str, set[str]]
    archived: dict[str, set[str]]
    links: dict[str, set[tuple[str, str]]]
    copies: dict[str, int] = field(default_factory=dict)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.copies.items() if n > 1}


@dataclass(frozen=True)
class Wanted:
    """The desired state in the same terms: live objects with comparable attributes, links."""

    live: dict[str, dict[str, Any]]
    links: dict[str, set[tuple[str, str]]]


class TargetKit(Protocol):
    """One target under test."""

    name: str  # the target's name in ess.toml

    def table(self, *, fault_rate: float, seed: int) -> dict[str, Any]:
        """The target's ess.toml table, with faults at ``fault_rate`` (0: none)."""
        ...

    def set_faults(self, fault_rate: float, seed: int) -> None:
        """Faults a live service takes without a new table (no-op where the table has them)."""
        ...

    def truth(self) -> TrueState: ...

    def wanted(self, snap: Snapshot) -> Wanted: ...

    def env(self) -> dict[str, str]:
        """Environment a subprocess run needs (secrets by reference)."""
        ...


def _nonempty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v}


def same(truth: TrueState, want: Wanted) -> list[str]:
    """Differences between the target and the desired state, as readable lines."""
    out: list[str] = []
    live, wl = _nonempty(truth.live), _nonempty(want.live)
    for kind in sorted(set(live) | set(wl)):
        have, need = live.get(kind, {}), wl.get(kind, {})
        for key in sorted(set(need) - set(have)):
            out.append(f"{kind} {key}: desired but not live in the target")
        for key in sorted(set(have) - set(need)):
            out.append(f"{kind} {key}: live in the target but not desired")
        for key in sorted(set(have) & set(need)):
            if have[key] != need[key]:
                out.append(f"{kind} {key}: attributes {have[key]} != desired {need[key]}")
    # an archived object keeps its links (an archived class keeps its members): not compared
    links = _nonempty(
        {
            kind: {
                (p, c) for p, c in pairs if p not in truth.archived.get(kind.split(".")[0], set())
            }
            for kind, pairs in truth.links.items()
        }
    )
    wlinks = _nonempty(want.links)
    for kind in sorted(set(links) | set(wlinks)):
        have_l, need_l = links.get(kind, set()), wlinks.get(kind, set())
        for pair in sorted(need_l - have_l):
            out.append(f"{kind} {pair}: desired link missing")
        for pair in sorted(have_l - need_l):
            out.append(f"{kind} {pair}: link not desired")
    return out


# ---------------------------------------------------------------------------------- memory
VISIBILITY_S = 0.05
"""While faults are on, a fresh object stays hidden from look-ups this long (a replication
delay), where the memory target offers it."""


def memory_fault_mix() -> dict[str, float]:
    """How a memory target's fault rate is shared out among the faults it can make: 5xx before
    and after the write, timeouts before and after it (where the double has them) and 429s."""
    offered = MemoryTargetConfig.model_fields
    mix = {"fault_rate": 0.25, "applied_fault_rate": 0.25, "throttle_rate": 0.2}
    if "timeout_rate" in offered and "applied_timeout_rate" in offered:
        mix |= {"timeout_rate": 0.15, "applied_timeout_rate": 0.15}
    else:
        mix["applied_fault_rate"] += 0.3
    return mix


class MemoryKit:
    """The memory target without natural-key idempotency (a second create is a duplicate),
    with faults that replay exactly (engine/testing/replay_target.py)."""

    name = "mem"

    def __init__(self, base: Path, **overrides: Any) -> None:
        self.state_path = base / "target.json"
        self.overrides = overrides  # fixed knobs for a focused test (applied_fault_rate=1, ...)

    def table(self, *, fault_rate: float, seed: int) -> dict[str, Any]:
        t: dict[str, Any] = {
            "type": "memory-replay",  # faults fixed per attempt: examples replay exactly
            "state": str(self.state_path),
            "duplicate_creates": True,
            "batch_size": 7,
            "max_concurrency": 2,
            "retry_after_s": 0.01,
            "seed": seed,
        }
        for knob, share in memory_fault_mix().items():
            t[knob] = round(fault_rate * share, 4)
        if fault_rate and "visibility_s" in MemoryTargetConfig.model_fields:
            t["visibility_s"] = VISIBILITY_S
        t.update(self.overrides)
        return t

    def set_faults(self, fault_rate: float, seed: int) -> None:
        return None

    def env(self) -> dict[str, str]:
        return {}

    def _target(self) -> MemoryTarget:
        return MemoryTarget(
            "mem", MemoryTargetConfig(state=self.state_path), TenantPolicy(), self.state_path.parent
        )

    def truth(self) -> TrueState:
        if not self.state_path.exists():
            return TrueState({}, {}, {}, {}, {}, {})
        state = orjson.loads(self.state_path.read_bytes())
        live: dict[str, dict[str, Any]] = {}
        present: dict[str, set[str]] = {}
        suspended: dict[str, set[str]] = {}
        archived: dict[str, set[str]] = {}
        for kind, table in state["objects"].items():
            present[kind] = set(table)
            suspended[kind] = {k for k, v in table.items() if v.get("suspended")}
            archived[kind] = {k for k, v in table.items() if v.get("archived")}
            live[kind] = {
                k: v["attrs"]
                for k, v in table.items()
                if not v.get("suspended") and not v.get("archived")
            }
        links = {k: {(p, c) for p, c in v} for k, v in state["links"].items()}
        copies = dict(Counter(state["creations"]))
        return TrueState(live, present, suspended, archived, links, copies)

    def wanted(self, snap: Snapshot) -> Wanted:
        d = self._target().desired(snap)
        live = {
            kind: {key: orjson.loads(orjson.dumps(o.attrs)) for key, o in objs.items()}
            for kind, objs in d.objects.items()
        }
        return Wanted(live, {k: set(v) for k, v in d.links.items()})


def toml_table(values: dict[str, Any]) -> str:
    """Lines of a TOML table body from plain values."""
    lines = []
    for k, v in values.items():
        if isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, int | float):
            text = repr(v)
        elif isinstance(v, list | tuple):
            text = json.dumps(list(v))
        else:
            text = json.dumps(str(v))
        lines.append(f"{k} = {text}")
    return "\n".join(lines)
