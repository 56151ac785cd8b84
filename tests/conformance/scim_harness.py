"""The SCIM target's conformance harnesses, one per profile: scim2-server (the real peer) over
real HTTPS on loopback, its faults (5xx before and after the write, timeouts, 429 with
Retry-After, a revoked token), objects made by hand over SCIM, and its true state read from the
server's storage by natural key (core: externalId; egil: the source UUID, its path id)."""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from adapters.scim.config import ScimConfig
from adapters.scim.drift import canonical
from adapters.scim.mapping import as_uuid, resource_body
from adapters.scim.profiles import PROFILES
from adapters.scim.sandbox import SandboxSettings, ScimSandbox
from adapters.scim.target import ScimTarget
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.testing.conformance import Drift, Fault, TrueState, Wanted
from engine.testing.snapshot_io import read_snapshot
from tests.conformance.shared_sandboxes import shared, stop

TOKEN_ENV = "ESS_SCIM_TOKEN"
HANG_S = 0.6  # a timeout fault holds the request this long, then answers 504 ...
CLIENT_TIMEOUT_S = 0.4  # ... and the client gives up first: the write's fate is unknown
KINDS = {
    Fault.SERVER_ERROR: "5xx",
    Fault.SERVER_ERROR_APPLIED: "applied_5xx",
    Fault.TIMEOUT: "timeout",
}


def shared_sandbox(profile: str) -> ScimSandbox:
    """One sandbox per profile for the whole session, started on first use."""
    return shared(f"scim-{profile}", lambda: ScimSandbox(settings=SandboxSettings(profile=profile)))


def stop_shared() -> None:
    for profile in PROFILES:
        stop(f"scim-{profile}")


class ScimHarness:
    inapplicable: Mapping[str, str] = {}

    def __init__(self, profile: str, base: Path) -> None:
        self.profile = profile
        self.name = f"scim-{profile}"
        self.sb = shared_sandbox(profile)
        self.base = base
        self.timeouts = False
        self.throttled = False
        self.sb.clear()
        self.sb.update_settings(
            fault_rate=0.0, requests_per_second=0.0, revoked=False, latency_ms=0.0
        )
        self.sb.reset_stats()
        if profile == "egil":
            self.inapplicable = {
                "suspend_retire": "the EGIL profile has no suspended state: a leaver is "
                "DELETEd after the groups are PUT without them, as EGIL receivers expect"
            }

    def table(self) -> dict[str, Any]:
        info = self.sb.info
        return {
            "type": "scim",
            "base_url": info.base_url,
            "profile": self.profile,
            "token": f"env:{TOKEN_ENV}",
            "verify": info.ca_path,
            "timeout_s": CLIENT_TIMEOUT_S if self.timeouts else 5.0,
            "max_concurrency": 1 if self.throttled else 4,
            # a hung request is answered 504 without being carried out: nothing can still
            # arrive after the client gave up, so the look-up need not wait long
            "consistency_window_s": 0.5,
        }

    def env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.sb.info.bearer_token}

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        kinds = tuple(KINDS[f] for f in mix if f in KINDS)
        throttled = Fault.THROTTLE in mix
        self.sb.update_settings(
            fault_rate=sum(r for f, r in mix.items() if f in KINDS),
            fault_kinds=kinds or ("5xx",),
            timeout_hang_s=HANG_S,
            seed=seed,
            requests_per_second=5.0 if throttled else 0.0,  # Bulk makes few requests
            revoked=Fault.TENANT in mix,
        )
        self.timeouts = Fault.TIMEOUT in mix
        self.throttled = throttled

    def throttle_record(self) -> tuple[int, int]:
        stats = self.sb.stats()
        return stats.throttled, stats.early_retries

    # ------------------------------------------------------------------ state
    def _keys(self) -> dict[str, str]:
        """UUID -> source key for the municipality on the bench (EGIL's path ids)."""
        path = self.base / "snap.json"
        if not path.exists():
            return {}
        snap = read_snapshot(path)
        out = {as_uuid(k): k for k in (*snap.persons, *snap.groups, *snap.schools)}
        out |= {as_uuid(g, "activity"): g for g in snap.groups}
        out |= {
            as_uuid(f"{r.person_id}@{r.school_id}", "employment"): f"{r.person_id}@{r.school_id}"
            for r in snap.school_roles
        }
        out[as_uuid(self.name, "org")] = f"organisation:{self.name}"
        return out

    def truth(self) -> TrueState:
        copies: Counter[str] = Counter()
        live: dict[str, dict[str, Any]] = {}
        present: dict[str, set[str]] = {}
        suspended: set[str] = set()
        links: set[tuple[str, str]] = set()
        keys = self._keys() if self.profile == "egil" else {}
        for kind, spec in PROFILES[self.profile].items():
            live[kind] = {}
            present[kind] = set()
            for r in self.sb.resources(spec.resource_type):
                ext = str(r.get("externalId") or "")
                key = keys.get(ext, ext) if self.profile == "egil" else ext
                if not key:
                    continue
                copies[f"{kind}:{key}"] += 1
                present[kind].add(key)
                if r.get("active") is False:
                    suspended.add(key)
                    continue
                live[kind][key] = canonical(r)
        if self.profile == "core":
            key_of = {str(u["id"]): str(u.get("externalId")) for u in self.sb.resources("User")}
            for g in self.sb.resources("Group"):
                for m in g.get("members") or ():
                    if str(m.get("value")) in key_of:
                        links.add((str(g.get("externalId")), key_of[str(m["value"])]))
        return TrueState(
            live=live,
            present={k: frozenset(v) for k, v in present.items()},
            suspended={"user": frozenset(suspended)},
            links={"group.member": frozenset(links)} if self.profile == "core" else {},
            copies=dict(copies),
        )

    def _desired(self, snap: Snapshot) -> Any:
        cfg = ScimConfig.model_validate(self.table())
        target = ScimTarget(self.name, cfg, TenantPolicy(), None)  # type: ignore[arg-type]
        return target.desired(snap)

    def wanted(self, snap: Snapshot) -> Wanted:
        d = self._desired(snap)
        specs = PROFILES[self.profile]
        live = {
            kind: {
                key: canonical(resource_body(specs[kind], dict(o.attrs))) for key, o in objs.items()
            }
            for kind, objs in d.objects.items()
        }
        return Wanted(live, {k: frozenset(v) for k, v in d.links.items()})

    def _client(self) -> httpx.Client:
        info = self.sb.info
        return httpx.Client(
            base_url=info.base_url,
            verify=ssl.create_default_context(cafile=info.ca_path),
            headers={"Authorization": f"Bearer {info.bearer_token}"},
        )

    def make_by_hand(self, snap: Snapshot) -> str:
        d = self._desired(snap)
        kind = "user"
        key, obj = sorted(d.objects[kind].items())[0]
        spec = PROFILES[self.profile][kind]
        body = resource_body(spec, dict(obj.attrs))
        if self.profile == "core":
            body["displayName"] = "Made by hand"  # adopted, then put right
        with self._client() as client:
            made = client.post(spec.endpoint, json=body)
            assert made.status_code == 201, made.text
        return f"{kind}:{key}"

    def drift(self, snap: Snapshot) -> Drift:
        patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
        with self._client() as client:
            if self.profile == "core":
                group = next(g for g in self.sb.resources("Group") if g.get("members"))
                member = group["members"][0]["value"]
                other = next(
                    u for u in self.sb.resources("User") if u["id"] != member and u.get("active")
                )
                ops = [
                    {"op": "replace", "path": "displayName", "value": "Renamed by hand"},
                    {"op": "remove", "path": f'members[value eq "{member}"]'},
                ]
                changed = client.patch(
                    f"/Groups/{group['id']}", json={"schemas": [patch_op], "Operations": ops}
                )
                assert changed.status_code in (200, 204), changed.text
                off = [{"op": "replace", "path": "active", "value": False}]
                disabled = client.patch(
                    f"/Users/{other['id']}", json={"schemas": [patch_op], "Operations": off}
                )
                assert disabled.status_code in (200, 204), disabled.text
                return Drift(
                    "a group renamed, a member taken out of it and another user made inactive "
                    "by hand",
                    "group",
                    str(group["externalId"]),
                )
            group = next(
                g for g in self.sb.resources("StudentGroup") if g.get("studentMemberships")
            )
            body = {k: v for k, v in group.items() if k not in ("id", "meta")}
            body["displayName"] = "Renamed by hand"
            body["studentMemberships"] = body["studentMemberships"][1:]
            changed = client.put(f"/StudentGroups/{group['id']}", json=body)
            assert changed.status_code == 200, changed.text
            gone = self.sb.resources("Activity")[0]
            assert client.delete(f"/Activities/{gone['id']}").status_code == 204
        return Drift(
            "a student group renamed and a pupil taken out of it, an activity deleted, by hand",
            "student_group",
            str(group["id"]),
        )

    async def aclose(self) -> None:
        self.faults({})
