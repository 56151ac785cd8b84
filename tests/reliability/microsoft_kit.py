"""The Microsoft 365 target under test: the sandbox over real HTTPS on loopback, its faults
(5xx, applied-then-5xx, timeouts, late visibility) and its true state by natural key.

The sandbox, its quiet settings and the timeout fault's timing are the conformance harness's
(tests/conformance/microsoft_harness.py): one sandbox serves both suites in a session. The true
state is read here, in the reliability suite's terms: it compares the UPN too and keeps the
archived classes apart (docs/reliability.md says why the two harnesses stay two)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from adapters.microsoft.config import MicrosoftConfig
from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.config import TenantPolicy
from engine.model import Snapshot
from tests.conformance.microsoft_harness import CLIENT_TIMEOUT_S, HANG_S, quiet
from tests.microsoft.ms_support import SECRET_ENV, settings_for
from tests.reliability.targets import TrueState, Wanted

THROTTLE_WRITES = 60  # per 1 s while faults are on; the client paces itself to 200


class MicrosoftKit:
    name = "microsoft"

    def __init__(self, sandbox: MicrosoftSandbox, base: Path) -> None:
        self.sb = sandbox
        self.base = base
        self.fault_kinds: tuple[str, ...] = ("5xx", "applied_5xx", "timeout")
        self.propagation_s = 0.2  # while faults are on, new objects 404 for this long
        sandbox.reset(quiet())

    def table(self, *, fault_rate: float, seed: int) -> dict[str, Any]:
        return settings_for(
            self.sb.info,
            timeout_s=CLIENT_TIMEOUT_S if fault_rate else 5.0,
            write_limit=400,
            write_window_s=2.0,
        )

    def set_faults(self, fault_rate: float, seed: int) -> None:
        s = self.sb.settings
        s.fault_rate = fault_rate
        s.fault_kinds = self.fault_kinds
        s.timeout_hang_s = HANG_S
        s.propagation_delay_s = self.propagation_s if fault_rate else 0.0
        # below what the client paces itself to: the sandbox answers 429 with Retry-After
        s.directory_write_limit = THROTTLE_WRITES if fault_rate else 3000
        s.directory_write_window_s = 1.0
        s.seed = seed

    def env(self) -> dict[str, str]:
        return {SECRET_ENV: self.sb.info.client_secret}

    def config(self) -> MicrosoftConfig:
        return MicrosoftConfig.model_validate(self.table(fault_rate=0, seed=0))

    def truth(self) -> TrueState:
        state = self.sb.state()
        copies: Counter[str] = Counter()
        users: dict[str, dict[str, Any]] = {}
        by_id: dict[str, str] = {}
        for u in state["users"]:
            block = u.get("student") or u.get("teacher") or {}
            key = block.get("externalId")
            if not key:
                continue
            copies[f"user:{key}"] += 1
            users[key] = u
            by_id[u["id"]] = key
        classes: dict[str, dict[str, Any]] = {}
        for g in state["groups"]:
            if g.get("isClass") and g.get("education"):
                key = g["education"]["externalId"]
                copies[f"class:{key}"] += 1
                classes[key] = g
                by_id[g["id"]] = key
        schools: dict[str, dict[str, Any]] = {}
        for s in state["schools"]:
            key = s.get("externalId")
            if key:
                copies[f"school:{key}"] += 1
                schools[key] = s
        # A class is retired by archiving its team; the class group itself stays as it was.
        # So a class counts as live only with a team that is not archived.
        live_teams = {t["id"] for t in state["teams"] if not t.get("isArchived")}
        archived = {k for k, g in classes.items() if g["id"] not in live_teams}
        suspended = {k for k, u in users.items() if u.get("accountEnabled") is False}
        live = {
            "school": {k: {"name": s.get("displayName")} for k, s in schools.items()},
            "user": {
                k: {"upn": u.get("userPrincipalName"), "name": u.get("displayName")}
                for k, u in users.items()
                if k not in suspended
            },
            "class": {
                k: {"name": g.get("displayName")} for k, g in classes.items() if k not in archived
            },
            "team": {k: {} for k, g in classes.items() if g["hasTeam"] and k not in archived},
        }
        links: dict[str, set[tuple[str, str]]] = {
            "school.user": set(),
            "school.class": set(),
            "class.member": set(),
            "class.teacher": set(),
        }
        for key, s in schools.items():
            links["school.user"] |= {(key, by_id[u]) for u in s["users"] if u in by_id}
            links["school.class"] |= {(key, by_id[c]) for c in s["classes"] if c in by_id}
        for key, g in classes.items():
            owners = set(g["owners"])
            links["class.teacher"] |= {(key, by_id[u]) for u in owners if u in by_id}
            links["class.member"] |= {
                (key, by_id[u]) for u in g["members"] if u in by_id and u not in owners
            }
        return TrueState(
            live=live,
            present={
                "school": set(schools),
                "user": set(users),
                "class": set(classes),
                "team": {k for k, g in classes.items() if g["hasTeam"]},
            },
            suspended={"user": suspended},
            archived={"class": archived, "team": archived},
            links=links,
            copies=dict(copies),
        )

    def wanted(self, snap: Snapshot) -> Wanted:
        # the target's own mapping (it needs no client for that)
        d = MicrosoftTarget("microsoft", self.config(), TenantPolicy(), None).desired(snap)  # type: ignore[arg-type]
        live: dict[str, dict[str, Any]] = {}
        for kind, objs in d.objects.items():
            live[kind] = {}
            for key, o in objs.items():
                attrs = dict(o.attrs)
                if kind == "user":
                    live[kind][key] = {
                        "upn": attrs.get("userPrincipalName"),
                        "name": attrs.get("displayName"),
                    }
                elif kind == "team":
                    live[kind][key] = {}
                else:
                    live[kind][key] = {"name": attrs.get("displayName")}
        return Wanted(live, {k: set(v) for k, v in d.links.items()})
