"""The memory target's conformance harness: faults are settings of its table, its true state is
its JSON file, and drift is an edit of that file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.testing.conformance.harness import Drift, Fault, TrueState, Wanted
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig

STRICT_CANNOT_ADOPT = (
    "without natural-key idempotency (duplicate_creates) the memory target makes a second "
    "object for a create of one that exists, so it cannot adopt"
)


class MemoryHarness:
    """The memory target. ``strict`` turns its natural-key idempotency off (a create sent
    twice makes a duplicate), so any resend by the engine shows; it then cannot adopt."""

    def __init__(self, base: Path, *, strict: bool = False, **settings: Any) -> None:
        self.name = "memory-strict" if strict else "memory"
        self.state_path = base / "target.json"
        self.settings: dict[str, Any] = {"duplicate_creates": strict, **settings}
        self.inapplicable: Mapping[str, str] = (
            {"adopt_existing": STRICT_CANNOT_ADOPT} if strict else {}
        )
        self._faults: dict[str, Any] = {}

    def table(self) -> dict[str, Any]:
        return {
            "type": "memory",
            "state": str(self.state_path),
            "batch_size": 7,
            "max_concurrency": 2,
            "retry_after_s": 0.05,
            **self.settings,
            **self._faults,
        }

    def env(self) -> dict[str, str]:
        return {}

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        knobs: dict[str, Any] = {"seed": seed} if mix else {}
        for fault, rate in mix.items():
            if fault is Fault.SERVER_ERROR:
                knobs["fault_rate"] = rate
            elif fault is Fault.SERVER_ERROR_APPLIED:
                knobs["applied_fault_rate"] = rate
            elif fault is Fault.TIMEOUT:  # half before the write, half after it
                knobs["timeout_rate"] = rate / 2
                knobs["applied_timeout_rate"] = rate / 2
            elif fault is Fault.THROTTLE:
                knobs["throttle_rate"] = rate
            elif fault is Fault.TENANT:
                knobs["fatal"] = True
        self._faults = knobs

    def _state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {"objects": {}, "links": {}, "creations": {}, "next_id": 1, "writes": 0}
        state: dict[str, Any] = orjson.loads(self.state_path.read_bytes())
        return state

    def _save(self, state: dict[str, Any]) -> None:
        self.state_path.write_bytes(orjson.dumps(state))

    def throttle_record(self) -> tuple[int, int]:
        record = self._state().get("throttles", {})
        return int(record.get("sent", 0)), int(record.get("early", 0))

    def truth(self) -> TrueState:
        state = self._state()
        live: dict[str, dict[str, Any]] = {}
        present: dict[str, frozenset[str]] = {}
        suspended: dict[str, frozenset[str]] = {}
        for kind, table in state["objects"].items():
            present[kind] = frozenset(table)
            suspended[kind] = frozenset(k for k, v in table.items() if v.get("suspended"))
            live[kind] = {
                k: v["attrs"]
                for k, v in table.items()
                if not v.get("suspended") and not v.get("archived")
            }
        live_keys = {k for objs in live.values() for k in objs}
        # an archived group keeps its members in the target; the contract is about live ones
        links = {
            kind: frozenset((p, c) for p, c in pairs if p in live_keys)
            for kind, pairs in state["links"].items()
        }
        return TrueState(live, present, suspended, links, dict(state["creations"]))

    def _target(self) -> MemoryTarget:
        cfg = MemoryTargetConfig(state=self.state_path)
        return MemoryTarget("memory", cfg, TenantPolicy(), self.state_path.parent)

    def wanted(self, snap: Snapshot) -> Wanted:
        d = self._target().desired(snap)
        live = {
            kind: {key: orjson.loads(orjson.dumps(o.attrs)) for key, o in objs.items()}
            for kind, objs in d.objects.items()
        }
        return Wanted(live, {k: frozenset(v) for k, v in d.links.items()})

    def make_by_hand(self, snap: Snapshot) -> str:
        d = self._target().desired(snap)
        key, obj = sorted(d.objects["user"].items())[0]
        state = self._state()
        state["objects"].setdefault("user", {})[key] = {
            "id": "m-user-by-hand",
            "attrs": orjson.loads(orjson.dumps(obj.attrs)),
            "made": 0.0,
        }
        state["creations"][f"user:{key}"] = 1
        self._save(state)
        return f"user:{key}"

    def drift(self, snap: Snapshot) -> Drift:
        state = self._state()
        users = state["objects"]["user"]
        renamed, suspended = sorted(users)[:2]
        attrs = dict(users[renamed]["attrs"])
        attrs["name"] = "By Hand"
        users[renamed]["attrs"] = sorted([k, v] for k, v in attrs.items())
        users[suspended]["suspended"] = True
        members = state["links"]["group.member"]
        members.remove(sorted(members)[0])
        self._save(state)
        return Drift(
            f"user {renamed} renamed, user {suspended} suspended and a group member removed "
            "by hand",
            "user",
            renamed,
        )

    async def aclose(self) -> None:
        return None
