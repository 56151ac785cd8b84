"""The Google Workspace target's conformance harness: the sandbox over real HTTPS on loopback
(token endpoint, Directory, Classroom, batches), its faults (5xx before and after the write,
timeouts, quotas answered 429 / 403 with Retry-After, domain-wide delegation withdrawn), drift
made by an administrator's hands, and its true state read by natural key (a user's
``organization`` externalId, a course's ``d:`` alias).

One sandbox serves the session; each case starts it empty (:meth:`GoogleSandbox.reset`). The
sandbox runs at a time scale of 0.02, so a quota window of 60 s lasts 1.2 s and the client is
told the same window: the counts are Google's, only the clock is faster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.google.config import GoogleConfig
from adapters.google.mapping import ALIAS_PREFIX
from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from adapters.google.target import GoogleTarget
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.testing.conformance import Drift, Fault, TrueState, Wanted
from tests.conformance.shared_sandboxes import shared, stop

KEY_ENV = "ESS_CONFORMANCE_GOOGLE_KEY"
SCALE = 0.02  # every published window and delay times this: a 60 s quota window is 1.2 s
HANG_S = 0.4  # a timeout fault holds the request this long, then answers 504 ...
CLIENT_TIMEOUT_S = 0.25  # ... and the client gives up first: the write's fate is unknown
THROTTLED_PER_WINDOW = 40  # calls a window the sandbox allows while throttling is the fault
KINDS = {
    Fault.SERVER_ERROR: "5xx",
    Fault.SERVER_ERROR_APPLIED: "applied_5xx",
    Fault.TIMEOUT: "timeout",
}


def quiet() -> SandboxSettings:
    return SandboxSettings(time_scale=SCALE)


def shared_sandbox() -> GoogleSandbox:
    """One sandbox for the whole session, started on first use."""
    return shared("google", lambda: GoogleSandbox(settings=quiet()))


def stop_shared() -> None:
    stop("google")


def _external_id(user: Mapping[str, Any]) -> str | None:
    for ext in user.get("externalIds") or ():
        if ext.get("type") == "organization" and ext.get("value"):
            return str(ext["value"])
    return None


def _course_key(course: Mapping[str, Any]) -> str | None:
    for alias in course.get("aliases") or ():
        if str(alias).startswith(ALIAS_PREFIX):
            return str(alias)[len(ALIAS_PREFIX) :]
    return None


class GoogleHarness:
    name = "google"
    inapplicable: Mapping[str, str] = {}

    def __init__(self, sandbox: GoogleSandbox, base: Path) -> None:
        self.sb = sandbox
        self.base = base
        self.timeouts = False
        self.throttled = False
        sandbox.reset(quiet())

    def table(self) -> dict[str, Any]:
        info = self.sb.info
        return {
            "type": "google",
            "domain": info.domain,
            "service_account_key": f"env:{KEY_ENV}",
            "admin_subjects": list(info.admin_subjects[:1]),
            "root_url": info.root_url,
            "batch_url": info.batch_url,
            "verify": info.ca_path,
            "timeout_s": CLIENT_TIMEOUT_S if self.timeouts else 5.0,
            "quota_window_s": 60.0 * SCALE,
            "consistency_window_s": 0.3,
            # The sandbox counts as early any call that arrives after a 429 was delivered,
            # though a concurrent request may have left before it could read that 429; with
            # one request in flight its count is exact.
            "max_concurrency": 1 if self.throttled else 4,
        }

    def env(self) -> dict[str, str]:
        return {KEY_ENV: Path(self.sb.info.key_file).read_text(encoding="utf-8")}

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        kinds = tuple(KINDS[f] for f in mix if f in KINDS)
        throttled = Fault.THROTTLE in mix
        quota = THROTTLED_PER_WINDOW if throttled else None
        defaults = SandboxSettings()
        self.sb.update_settings(
            fault_rate=sum(r for f, r in mix.items() if f in KINDS),
            fault_kinds=kinds or ("5xx",),
            timeout_hang_s=HANG_S / SCALE,
            seed=seed,
            new_user_not_found_s=0.0,
            classroom_per_user_per_min=quota or defaults.classroom_per_user_per_min,
            directory_per_user_per_min=quota or defaults.directory_per_user_per_min,
            # domain-wide delegation withdrawn in the Admin console: every token is refused
            delegated_scopes=() if Fault.TENANT in mix else defaults.delegated_scopes,
        )
        self.timeouts = Fault.TIMEOUT in mix
        self.throttled = throttled

    def throttle_record(self) -> tuple[int, int]:
        stats = self.sb.stats()
        return stats.throttled, stats.early_retries

    def truth(self) -> TrueState:
        state = self.sb.state()
        copies: Counter[str] = Counter()
        users: dict[str, dict[str, Any]] = {}
        key_of: dict[str, str] = {}  # primary email -> source key
        for u in state["users"]:
            key = _external_id(u)
            if key and not u.get("isAdmin"):
                copies[f"user:{key}"] += 1
                users[key], key_of[u["primaryEmail"]] = u, key
        courses: dict[str, dict[str, Any]] = {}
        for c in state["courses"]:
            key = _course_key(c)
            if key:
                copies[f"course:{key}"] += 1
                courses[key] = c
        suspended = {k for k, u in users.items() if u.get("suspended")}
        live_courses = {k: c for k, c in courses.items() if c["courseState"] != "ARCHIVED"}
        links: dict[str, set[tuple[str, str]]] = {"course.teacher": set(), "course.student": set()}
        for key, c in live_courses.items():
            links["course.teacher"] |= {(key, key_of[e]) for e in c["teachers"] if e in key_of}
            links["course.student"] |= {(key, key_of[e]) for e in c["students"] if e in key_of}
        return TrueState(
            live={
                "user": {
                    k: {"name": _name(u["name"]), "ou": u["orgUnitPath"]}
                    for k, u in users.items()
                    if k not in suspended
                },
                "course": {
                    k: {"name": c["name"], "section": c.get("section", ""), "owner": owner}
                    for k, c in live_courses.items()
                    for owner in [key_of.get(c["ownerEmail"], c["ownerEmail"])]
                },
            },
            present={"user": frozenset(users), "course": frozenset(courses)},
            suspended={"user": frozenset(suspended)},
            links={k: frozenset(v) for k, v in links.items()},
            copies=dict(copies),
        )

    def _target(self) -> GoogleTarget:
        cfg = GoogleConfig.model_validate(self.table())
        return GoogleTarget("google", cfg, TenantPolicy(), None)  # type: ignore[arg-type]

    def wanted(self, snap: Snapshot) -> Wanted:
        d = self._target().desired(snap)
        users = {k: dict(o.attrs) for k, o in d.objects["user"].items()}
        courses = {k: dict(o.attrs) for k, o in d.objects["course"].items()}
        live = {
            "user": {k: {"name": _name(a), "ou": a["orgUnitPath"]} for k, a in users.items()},
            "course": {
                k: {"name": a["name"], "section": a["section"], "owner": a["owner"]}
                for k, a in courses.items()
            },
        }
        return Wanted(live, {k: frozenset(v) for k, v in d.links.items()})

    def make_by_hand(self, snap: Snapshot) -> str:
        """A pupil's account made in the Admin console (or by another tool) before ESS: the
        address ESS would give it and the source id as its externalId, left in the root org
        unit with a shortened name. ESS must adopt it and put it right, not make a second."""
        key, obj = sorted(self._target().desired(snap).objects["user"].items())[0]
        a = dict(obj.attrs)
        self.sb.directory._insert_user(
            {
                "primaryEmail": a["primaryEmail"],
                "name": {"givenName": a["givenName"][:1], "familyName": a["familyName"]},
                "orgUnitPath": "/",
                "externalIds": [{"type": "organization", "value": key}],
            }
        )
        return f"user:{key}"

    def drift(self, snap: Snapshot) -> Drift:
        """As an administrator would in the Admin console and Classroom: a course renamed, a
        pupil taken out of it, another pupil's account suspended."""
        state = self.sb.state()
        course = next(c for c in state["courses"] if _course_key(c) and len(c["students"]) > 1)
        held = self.sb.classroom.courses[course["id"]]
        held.body["name"] = "Omdöpt för hand"
        leaving, suspended = course["students"][0], course["students"][1]
        user = self.sb.directory.user(leaving)
        assert user is not None
        held.students.remove(user["id"])
        other = self.sb.directory.user(suspended)
        assert other is not None
        other["suspended"] = True
        return Drift(
            "a course renamed, a pupil taken out of it and another's account suspended by hand",
            "course",
            str(_course_key(course)),
        )

    async def aclose(self) -> None:
        self.faults({})


def _name(name: Mapping[str, Any]) -> str:
    return f"{name.get('givenName')} {name.get('familyName')}"
