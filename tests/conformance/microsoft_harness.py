"""The Microsoft 365 target's conformance harness: the sandbox over real HTTPS on loopback, its
faults (5xx before and after the write, timeouts, 429 with Retry-After, a revoked secret), drift
made through its inspection hooks and Graph, and its true state read by natural key."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.microsoft.config import MicrosoftConfig
from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings
from adapters.microsoft.target import MicrosoftTarget
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.testing.conformance import Drift, Fault, TrueState, Wanted
from tests.conformance.shared_sandboxes import shared, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "microsoft"))

from ms_support import SECRET_ENV, graph_client, settings_for

HANG_S = 0.3  # a timeout fault holds the request this long, then answers 504 ...
CLIENT_TIMEOUT_S = 0.2  # ... and the client gives up first: the write's fate is unknown
KINDS = {
    Fault.SERVER_ERROR: "5xx",
    Fault.SERVER_ERROR_APPLIED: "applied_5xx",
    Fault.TIMEOUT: "timeout",
}


def quiet() -> SandboxSettings:
    return SandboxSettings(team_operation_delay_s=0.05)


def shared_sandbox() -> MicrosoftSandbox:
    """One sandbox for the whole session, started on first use."""
    return shared("microsoft", lambda: MicrosoftSandbox(settings=quiet()))


def stop_shared() -> None:
    stop("microsoft")


class MicrosoftHarness:
    name = "microsoft"
    inapplicable: Mapping[str, str] = {}

    def __init__(self, sandbox: MicrosoftSandbox, base: Path) -> None:
        self.sb = sandbox
        self.base = base
        self.timeouts = False
        self.revoked = False
        self.throttled = False
        sandbox.reset(quiet())

    def table(self) -> dict[str, Any]:
        return settings_for(
            self.sb.info,
            timeout_s=CLIENT_TIMEOUT_S if self.timeouts else 5.0,
            write_limit=400,
            write_window_s=2.0,
            # The sandbox counts as early any write that arrives after a 429 was delivered,
            # though a concurrent client may have sent it before it could read that 429; with
            # one request in flight its count is exact.
            max_concurrency=1 if self.throttled else None,
        )

    def env(self) -> dict[str, str]:
        return {SECRET_ENV: "revoked~secret" if self.revoked else self.sb.info.client_secret}

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        s = self.sb.settings
        kinds = tuple(KINDS[f] for f in mix if f in KINDS)
        s.fault_rate = sum(r for f, r in mix.items() if f in KINDS)
        s.fault_kinds = kinds or ("5xx",)
        s.timeout_hang_s = HANG_S
        s.seed = seed
        s.propagation_delay_s = 0.2 if kinds else 0.0  # fresh objects 404 for a moment
        # under what the client paces itself to: the sandbox answers 429 with Retry-After
        throttled = Fault.THROTTLE in mix
        s.directory_write_limit = 40 if throttled else 3000
        s.directory_write_window_s = 1.0 if throttled else 150.0
        self.timeouts = Fault.TIMEOUT in mix
        self.throttled = throttled
        self.revoked = Fault.TENANT in mix

    def throttle_record(self) -> tuple[int, int]:
        stats = self.sb.stats()
        return stats.throttled, stats.early_retries

    def truth(self) -> TrueState:
        state = self.sb.state()
        copies: Counter[str] = Counter()
        users: dict[str, dict[str, Any]] = {}
        key_of: dict[str, str] = {}
        for u in state["users"]:
            key = (u.get("student") or u.get("teacher") or {}).get("externalId")
            if key:
                copies[f"user:{key}"] += 1
                users[key], key_of[u["id"]] = u, key
        classes: dict[str, dict[str, Any]] = {}
        for g in state["groups"]:
            if g.get("isClass") and g.get("education"):
                key = g["education"]["externalId"]
                copies[f"class:{key}"] += 1
                classes[key], key_of[g["id"]] = g, key
        schools: dict[str, dict[str, Any]] = {}
        for s in state["schools"]:
            if s.get("externalId"):
                copies[f"school:{s['externalId']}"] += 1
                schools[s["externalId"]] = s
        # a class is retired by archiving its team; the class group itself stays as it was
        archived_teams = {t["id"] for t in state["teams"] if t.get("isArchived")}
        archived = {k for k, g in classes.items() if g["id"] in archived_teams}
        suspended = {k for k, u in users.items() if u.get("accountEnabled") is False}
        live_classes = {k: g for k, g in classes.items() if k not in archived}
        live: dict[str, dict[str, Any]] = {
            "school": {k: {"name": s.get("displayName")} for k, s in schools.items()},
            "user": {
                k: {"name": u.get("displayName")}  # the UPN is create-only: never updated
                for k, u in users.items()
                if k not in suspended
            },
            "class": {k: {"name": g.get("displayName")} for k, g in live_classes.items()},
            "team": {k: {} for k, g in live_classes.items() if g["hasTeam"]},
        }
        links: dict[str, set[tuple[str, str]]] = {
            "school.user": set(),
            "school.class": set(),
            "class.member": set(),
            "class.teacher": set(),
        }
        for key, s in schools.items():
            links["school.user"] |= {(key, key_of[u]) for u in s["users"] if u in key_of}
            links["school.class"] |= {(key, key_of[c]) for c in s["classes"] if c in key_of}
        for key, g in live_classes.items():
            owners = set(g["owners"])
            links["class.teacher"] |= {(key, key_of[u]) for u in owners if u in key_of}
            links["class.member"] |= {
                (key, key_of[u]) for u in g["members"] if u in key_of and u not in owners
            }
        return TrueState(
            live=live,
            present={
                "school": frozenset(schools),
                "user": frozenset(users),
                "class": frozenset(classes),
                "team": frozenset(k for k, g in classes.items() if g["hasTeam"]),
            },
            suspended={"user": frozenset(suspended)},
            links={k: frozenset(v) for k, v in links.items()},
            copies=dict(copies),
        )

    def _desired(self, snap: Snapshot) -> Any:
        cfg = MicrosoftConfig.model_validate(self.table())
        target = MicrosoftTarget("microsoft", cfg, TenantPolicy(), None)  # type: ignore[arg-type]
        return target.desired(snap)

    def wanted(self, snap: Snapshot) -> Wanted:
        d = self._desired(snap)
        live: dict[str, dict[str, Any]] = {}
        for kind, objs in d.objects.items():
            live[kind] = {}
            for key, o in objs.items():
                a = dict(o.attrs)
                if kind == "user":
                    live[kind][key] = {"name": a.get("displayName")}
                elif kind == "team":
                    live[kind][key] = {}
                else:
                    live[kind][key] = {"name": a.get("displayName")}
        return Wanted(live, {k: frozenset(v) for k, v in d.links.items()})

    def make_by_hand(self, snap: Snapshot) -> str:
        key, obj = sorted(self._desired(snap).objects["class"].items())[0]
        with graph_client(self.sb) as client:
            a = dict(obj.attrs)
            body = {k: a[k] for k in ("displayName", "mailNickname", "externalId")}
            made = client.post("/education/classes", json={**body, "externalSource": "sis"})
            assert made.status_code == 201, made.text
        return f"class:{key}"

    def drift(self, snap: Snapshot) -> Drift:
        state = self.sb.state()
        key_of = {u["id"]: (u.get("student") or {}).get("externalId") for u in state["users"]}
        klass = next(g for g in state["groups"] if g.get("isClass") and g.get("education"))
        pupils = [u for u in klass["members"] if key_of.get(u) and u not in klass["owners"]]
        self.sb.remove_member(klass["id"], pupils[0])
        self.sb.rename_group(klass["id"], "Renamed by hand")
        with graph_client(self.sb) as client:
            disabled = client.patch(f"/users/{pupils[1]}", json={"accountEnabled": False})
            assert disabled.status_code == 204, disabled.text
        return Drift(
            "a class renamed, a pupil taken out of it and another's account disabled by hand",
            "class",
            klass["id"],
        )

    async def aclose(self) -> None:
        self.faults({})
