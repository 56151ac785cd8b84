"""Test support for the Microsoft target: a small hand-built snapshot, target settings for a
running sandbox, and a minimal driver that plans with the engine's planner and applies like the
executor does (levels, dependencies, Retry-After), so the target is tested without a journal."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxInfo
from adapters.microsoft.target import MicrosoftTarget
from engine.config import TenantPolicy
from engine.drift import decide_drift
from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    Protection,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.plan import Action, Operation
from engine.planner import PlanInput, apply_operations, plan
from engine.secrets import SecretResolver
from engine.target import (
    ObservedState,
    Outcome,
    OutcomeKind,
    TargetContext,
)

AS_OF = date(2024, 9, 2)
SECRET_ENV = "ESS_TEST_MS_SECRET"

S1, S2 = "5c1a0000-0000-4000-8000-000000000001", "5c1a0000-0000-4000-8000-000000000002"
G_KLASS, G_UND, G_MENTOR = (
    "9a000000-0000-4000-8000-00000000000a",
    "9a000000-0000-4000-8000-00000000000b",
    "9a000000-0000-4000-8000-00000000000c",
)
T1, T2 = "7e000000-0000-4000-8000-000000000001", "7e000000-0000-4000-8000-000000000002"


def pid(n: int) -> str:
    return f"d0000000-0000-4000-8000-{n:012d}"


def small_snapshot(*, as_of: date = AS_OF, protected: bool = True) -> Snapshot:
    """Two schools, two teachers, six pupils (one with protected identity), three groups."""
    schools = {
        S1: School(S1, "Norrskolan", "12345678"),
        S2: School(S2, "Söderskolan", "87654321"),
    }
    persons = {
        T1: Person(
            T1, "Åsa", "Öberg", emails=("asa.oberg@kommun.example",), civic_no="197001011234"
        ),
        T2: Person(T2, "Per", "Lind", civic_no="197502021234"),
    }
    names = [
        ("Anna", "Svensson"),
        ("Anna", "Svensson"),
        ("Björn", "Ek"),
        ("Cecilia", "Ås"),
        ("David", "Berg"),
        ("Elin", "Dal"),
    ]
    for i, (given, family) in enumerate(names, start=1):
        protection = (
            Protection.PROTECTED_REGISTRATION if (i == 6 and protected) else (Protection.NONE)
        )
        persons[pid(i)] = Person(
            pid(i), given, family, civic_no=f"20120{i}011234", protection=protection
        )
    start, end = date(2024, 8, 15), date(2025, 6, 15)
    groups = {
        G_KLASS: Group(G_KLASS, "7A", GroupType.KLASS, S1, start=start, end=end),
        G_UND: Group(
            G_UND, "Matematik 7", GroupType.UNDERVISNING, S1, start=start, end=end, subject="MA"
        ),
        G_MENTOR: Group(G_MENTOR, "Mentor Ek", GroupType.MENTOR, S1, start=start, end=end),
    }
    memberships: list[Membership] = [
        Membership(G_KLASS, T1, MemberRole.MENTOR),
        Membership(G_UND, T2, MemberRole.TEACHER),
        Membership(G_MENTOR, T1, MemberRole.MENTOR),
    ]
    roles = [SchoolRole(S1, T1, SchoolRoleType.TEACHER), SchoolRole(S1, T2, SchoolRoleType.TEACHER)]
    for i in range(1, 7):
        memberships.append(Membership(G_KLASS, pid(i), MemberRole.STUDENT))
        if i <= 4:
            memberships.append(Membership(G_UND, pid(i), MemberRole.STUDENT))
        memberships.append(Membership(G_MENTOR, pid(i), MemberRole.STUDENT))
        roles.append(SchoolRole(S1, pid(i), SchoolRoleType.STUDENT, school_year=7))
    return Snapshot(
        schools, persons, groups, tuple(memberships), tuple(roles), as_of=as_of, source="test"
    )


def settings_for(info: SandboxInfo, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "microsoft",
        "tenant_id": info.tenant_id,
        "client_id": info.client_id,
        "client_secret": f"env:{SECRET_ENV}",
        "authority": info.authority,
        "graph_url": info.graph_url,
        "verify": info.ca_path,
        "domain": "skola.example",
        "timeout_s": 5.0,
        "team_poll_interval_s": 0.05,
        "team_retry_s": 0.3,
        # the sandbox makes objects visible at once unless a test sets a propagation delay
        "consistency_window_s": 0.5,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def build_target(
    info: SandboxInfo, policy: TenantPolicy | None = None, **overrides: Any
) -> MicrosoftTarget:
    secrets = SecretResolver(environ={SECRET_ENV: info.client_secret})
    return MicrosoftTarget.from_config(
        "microsoft", settings_for(info, **overrides), policy or TenantPolicy(), secrets
    )


@dataclass
class DriveResult:
    observed: ObservedState
    outcomes: list[tuple[Operation, Outcome]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)
    planned: int = 0

    def by_kind(self, kind: OutcomeKind) -> list[tuple[Operation, Outcome]]:
        return [(op, o) for op, o in self.outcomes if o.kind is kind]

    @property
    def final(self) -> dict[int, Outcome]:
        last: dict[int, Outcome] = {}
        for op, o in self.outcomes:
            last[op.seq] = o
        return last


EMPTY = ObservedState({}, {})


async def drive(
    target: MicrosoftTarget,
    snapshot: Snapshot,
    observed: ObservedState = EMPTY,
    *,
    now: datetime | None = None,
    max_attempts: int = 8,
    time_limit_s: float = 60.0,
) -> DriveResult:
    """Plan one run and apply it the way the executor does; returns the new observed state."""
    now = now or datetime.now(UTC)
    result = DriveResult(observed)
    ids: dict[tuple[str, str], str] = {
        (kind, key): m.target_id
        for kind, objs in observed.objects.items()
        for key, m in objs.items()
        if m.target_id
    }
    ctx = TargetContext(
        "test",
        1,
        lambda k, key: ids.get((k, key)),
        lambda level, msg: result.events.append((level, msg)),
    )
    desired = target.desired(snapshot)
    # the runner's drift step: the target reports, the tenant's policy decides
    drift = decide_drift(target.policy.drift, observed, await target.refresh(observed, ctx))
    observed = drift.observed
    the_plan = plan(PlanInput(target.name, target.kinds, target.links, desired, observed, now))
    result.planned = len(the_plan.operations)
    rank = {k.name: k.rank for k in target.kinds}
    ops = {op.seq: op for op in the_plan.operations}
    status: dict[int, str] = dict.fromkeys(ops, "pending")
    not_before: dict[int, float] = dict.fromkeys(ops, 0.0)
    deadline = time.monotonic() + time_limit_s

    def level(op: Operation) -> tuple[int, int]:
        r = rank.get(op.kind, 0)
        return (op.phase.value, -r if op.action is Action.DELETE else r)

    for lv in sorted({level(op) for op in ops.values()}):
        while time.monotonic() < deadline:
            waiting = [s for s in ops if level(ops[s]) == lv and status[s] == "pending"]
            if not waiting:
                break
            ready = [
                ops[s]
                for s in waiting
                if all(status.get(d) == "done" for d in ops[s].depends_on)
                and not_before[s] <= time.monotonic()
            ]
            if any(
                status.get(d) in ("dead", "failed", "blocked")
                for s in waiting
                for d in ops[s].depends_on
            ):
                for s in waiting:
                    if any(
                        status.get(d) in ("dead", "failed", "blocked") for d in ops[s].depends_on
                    ):
                        status[s] = "blocked"
                continue
            if not ready:
                await asyncio.sleep(0.05)
                continue
            batches = list(target.batches(ready))
            sent = [op._replace(attempts=op.attempts + 1) for b in batches for op in b.operations]
            for op in sent:
                ops[op.seq] = op
            answers = await asyncio.gather(
                *(
                    target.apply(type(b)(tuple(ops[o.seq] for o in b.operations), b.cost), ctx)
                    for b in batches
                )
            )
            for b, outs in zip(batches, answers, strict=True):
                for o_op, outcome in zip(b.operations, outs, strict=True):
                    op = ops[o_op.seq]
                    result.outcomes.append((op, outcome))
                    if outcome.kind is OutcomeKind.DONE:
                        status[op.seq] = "done"
                        if not op.is_link and outcome.target_id:
                            ids[(op.kind, op.key)] = outcome.target_id
                    elif outcome.kind is OutcomeKind.FAILED:
                        status[op.seq] = "dead"
                    elif outcome.kind is OutcomeKind.FATAL:
                        raise RuntimeError(f"fatal: {outcome.message}")
                    elif op.attempts >= max_attempts:
                        status[op.seq] = "failed"
                    else:
                        not_before[op.seq] = time.monotonic() + (outcome.retry_after or 0.1)
    done = (ops[seq] for seq in sorted(ops) if status[seq] == "done")
    result.observed = apply_operations(observed, done, now, target.links, ids)
    return result


def by_external(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sandbox class groups by externalId."""
    return {
        g["education"]["externalId"]: g
        for g in state["groups"]
        if g.get("isClass") and g.get("education")
    }


def current_snapshot(today: date, *, extra_pupils: int = 0) -> Snapshot:
    """The small snapshot with groups running around ``today`` and optionally more pupils
    (in 7A), for runs through the engine, which judges memberships against the real date."""
    from datetime import timedelta

    snap = small_snapshot(as_of=today)
    groups = {
        k: replace(g, start=today - timedelta(days=20), end=today + timedelta(days=200))
        for k, g in snap.groups.items()
    }
    persons = dict(snap.persons)
    memberships = list(snap.memberships)
    roles = list(snap.school_roles)
    for n in range(100, 100 + extra_pupils):
        persons[pid(n)] = Person(pid(n), f"Elev{n}", "Test", civic_no=f"2013{n:04d}1234")
        memberships.append(Membership(G_KLASS, pid(n), MemberRole.STUDENT))
        if n % 2:
            memberships.append(Membership(G_UND, pid(n), MemberRole.STUDENT))
        roles.append(SchoolRole(S1, pid(n), SchoolRoleType.STUDENT, school_year=7))
    return replace(
        snap,
        groups=groups,
        persons=persons,
        memberships=tuple(memberships),
        school_roles=tuple(roles),
    )


GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def app_token(info: SandboxInfo, verify: ssl.SSLContext) -> str:
    """An app-only Graph token from the sandbox's token endpoint (client credentials)."""
    response = httpx.post(
        f"{info.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
            "scope": GRAPH_SCOPE,
        },
        verify=verify,
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def graph_client(sb: MicrosoftSandbox) -> httpx.Client:
    """A plain Graph client with an app token, for arranging the sandbox by hand in a test."""
    info = sb.info
    ctx = ssl.create_default_context(cafile=info.ca_path)
    token = app_token(info, ctx)
    return httpx.Client(
        base_url=info.graph_url, verify=ctx, headers={"Authorization": f"Bearer {token}"}
    )
