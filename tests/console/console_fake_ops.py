"""A small in-memory ops facade with fixed data and times, for deterministic console tests.

It follows the facade's contract (views, policy by tier and elevation, read-only refusals)
closely enough for the console; the console's behaviour against the real engine is checked
with engine.testing.scenario in test_scenario.py and test_tmux.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from engine.ops import NotFound, Ops, PolicyRefused, ProgressFn, WriteAction
from engine.views import (
    AgentStatusView,
    Attempt,
    AuditView,
    CommandResult,
    Decision,
    ElevationView,
    EventView,
    Explanation,
    FindingView,
    HeldPlanView,
    OperationCount,
    OperationDetail,
    OperationView,
    RunDetail,
    RunSummary,
    SearchHit,
    TenantDetail,
    TenantHealth,
)

BASE = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
NOW = BASE + timedelta(hours=2)


def fixed_clock() -> datetime:
    return NOW


TIERS = {"alpha": "bronze", "beta": "silver", "gamma": "gold"}
NAMES = {"alpha": "Alfa kommun", "beta": "Beta skolor", "gamma": "Gamma friskolor"}


def _op(
    op_id: int,
    status: str,
    action: str,
    kind: str,
    label: str,
    *,
    run_id: int = 3,
    reason: str = "",
    error: str = "",
    advice: str = "",
    attempts: int = 1,
    target_id: str | None = None,
) -> OperationView:
    return OperationView(
        id=op_id,
        run_id=run_id,
        tenant="alpha",
        target="microsoft",
        action=action,
        kind=kind,
        key=f"key-{op_id}",
        parent=None,
        label=label,
        status=status,
        attempts=attempts,
        reason=reason,
        last_error=error,
        target_id=target_id,
        updated_at=BASE + timedelta(minutes=op_id % 50),
        advice=advice,
    )


class FakeOps(Ops):
    """Three tenants: alpha (bronze, a partial run), beta (silver, a held plan), gamma (gold)."""

    def __init__(self, *, read_only: bool = False, actor: str = "console:test") -> None:
        self.actor = actor
        self.read_only = read_only
        self.calls: list[tuple[object, ...]] = []
        self.marker = 0  # the journal's change marker; a test moves it as another writer would
        self.closed = False
        self.elevations_: dict[int, ElevationView] = {}
        self.runs_: dict[int, RunSummary] = {}
        for run_id, status, counts, hours in (
            (1, "succeeded", {"planned": 120, "done": 120}, 50),
            (2, "succeeded", {"planned": 8, "done": 8}, 26),
            (3, "partial", {"planned": 44, "done": 40, "failed": 2, "dead": 1, "blocked": 1}, 1),
        ):
            start = NOW - timedelta(hours=hours)
            self.runs_[run_id] = RunSummary(
                id=run_id,
                tenant="alpha",
                status=status,
                trigger="schedule",
                actor="scheduler",
                dry_run=False,
                started_at=start,
                finished_at=start + timedelta(seconds=83),
                counts=counts,
                targets=("microsoft",),
            )
        self.runs_[4] = RunSummary(
            id=4,
            tenant="beta",
            status="held",
            trigger="schedule",
            actor="scheduler",
            dry_run=False,
            started_at=NOW - timedelta(minutes=30),
            finished_at=NOW - timedelta(minutes=29),
            counts={"planned": 131},
            targets=("microsoft",),
        )
        self.ops_: dict[int, OperationView] = {
            101: _op(
                101,
                "failed",
                "create",
                "user",
                "Anna Andersson",
                reason="throttled",
                error="429 Too Many Requests after 5 tries",
                advice="The target was throttling. Retry: it is likely to succeed now.",
                attempts=5,
            ),
            102: _op(
                102,
                "dead",
                "create",
                "user",
                "Björn Berg",
                reason="rejected",
                error="400 Bad Request: mailNickname contains invalid characters",
                advice="Fix the person's name in the source system; the next run retries it.",
                attempts=1,
            ),
            103: _op(
                103,
                "blocked",
                "link",
                "class.member",
                "Anna Andersson in 7A",
                reason="depends on item 101",
                advice="Retry item 101 first; this one follows it.",
                attempts=0,
            ),
            104: _op(
                104,
                "failed",
                "update",
                "class",
                "7A Matematik",
                reason="timeout",
                error="timed out after 30s",
                advice="Retry: timeouts are usually passing.",
                attempts=3,
                target_id="grp-7a-ma",
            ),
            105: _op(105, "done", "create", "class", "7A", target_id="grp-7a", attempts=1),
        }
        self.events_: dict[int, list[EventView]] = {}
        next_id = 1
        for run_id, run in sorted(self.runs_.items()):
            lines = [
                ("info", f"run {run_id} started by {run.actor}"),
                ("info", "read 412 records from ss12000"),
                ("info", f"planned {run.counts.get('planned', 0)} operations"),
            ]
            if run_id == 3:
                lines += [
                    ("warning", "throttled by microsoft: waiting 12s (Retry-After)"),
                    ("error", "item 101 failed: 429 Too Many Requests after 5 tries"),
                    ("error", "item 102 dead: 400 Bad Request: mailNickname invalid"),
                    ("warning", "item 103 blocked: depends on item 101"),
                    ("info", "run 3 finished partial: done 40, failed 2, dead 1, blocked 1"),
                ]
            if run_id == 4:
                lines += [("warning", "guard held the plan: delete user 120 of 400 (30% > 5%)")]
            self.events_[run_id] = []
            for offset, (level, message) in enumerate(lines):
                self.events_[run_id].append(
                    EventView(
                        id=next_id,
                        run_id=run_id,
                        tenant=run.tenant,
                        at=run.started_at + timedelta(seconds=offset * 7),
                        level=level,
                        message=message,
                    )
                )
                next_id += 1
        self.next_event = next_id
        self.held_: dict[int, HeldPlanView] = {
            4: HeldPlanView(
                run_id=4,
                tenant="beta",
                held_at=NOW - timedelta(minutes=29),
                reasons=("delete user: 120 of 400 (30%) is over the limit of 5% or 500",),
                would_remove={"delete user": 120, "suspend user": 3},
                examples=("Cecilia C.", "David D.", "Emil E."),
                total_operations=131,
            )
        }

    # ----- helpers for tests -----
    def add_event(self, run_id: int, level: str, message: str) -> EventView:
        run = self.runs_[run_id]
        event = EventView(self.next_event, run_id, run.tenant, NOW, level, message)
        self.next_event += 1
        self.events_[run_id].append(event)
        return event

    def _run(self, run_id: int) -> RunSummary:
        if run_id not in self.runs_:
            raise NotFound(f"no run {run_id}")
        return self.runs_[run_id]

    def _active(self, tenant: str) -> ElevationView | None:
        for ev in self.elevations_.values():
            if ev.tenant == tenant and ev.status in ("active", "pending_approval"):
                return ev
        return None

    async def _check(self, action: WriteAction, tenant: str) -> None:
        decision = await self.can(action, tenant)
        if not decision.allowed:
            raise PolicyRefused(decision.reason)

    # ----- queries -----
    async def close(self) -> None:
        self.closed = True

    def _health_of(self, tid: str) -> TenantHealth:
        runs = [r for r in self.runs_.values() if r.tenant == tid]
        last = max(runs, key=lambda r: r.id) if runs else None
        failed = sum(
            1
            for o in self.ops_.values()
            if o.tenant == tid and o.status in ("failed", "dead", "blocked")
        )
        held = sum(1 for p in self.held_.values() if p.tenant == tid)
        if last is None:
            health = "never_run"
        elif held:
            health = "held"
        elif failed:
            health = "failing"
        else:
            health = "ok"
        return TenantHealth(
            id=tid,
            name=NAMES[tid],
            tier=TIERS[tid],  # type: ignore[arg-type]
            health=health,  # type: ignore[arg-type]
            last_run=last,
            next_run=NOW + timedelta(hours=16) if tid != "gamma" else None,
            failed_items=failed,
            held_plans=held,
            blocking_findings=1 if tid == "alpha" else 0,
            warning_findings=1 if tid == "alpha" else 0,
            targets=("microsoft",),
            source="ss12000",
            elevation=self._active(tid),
        )

    async def tenants(self) -> list[TenantHealth]:
        self.calls.append(("tenants",))
        order = {"failing": 0, "held": 1, "warning": 2, "running": 3, "ok": 4, "never_run": 5}
        return sorted((self._health_of(t) for t in TIERS), key=lambda h: (order[h.health], h.id))

    async def tenant(self, tenant_id: str) -> TenantDetail:
        if tenant_id not in TIERS:
            raise NotFound(f"no tenant {tenant_id!r}")
        return TenantDetail(
            health=self._health_of(tenant_id),
            config={
                "name": NAMES[tenant_id],
                "tier": TIERS[tenant_id],
                "schedule": "0 2 * * *",
                "source": {"type": "ss12000", "client_secret": "env:SS12000_SECRET"},
                "targets": {
                    "microsoft": {"type": "microsoft", "client_secret": "env:GRAPH_SECRET"}
                },
            },
            schedule="0 2 * * *",
            timezone="Europe/Stockholm",
        )

    async def change_marker(self) -> str:
        return str(self.marker)

    async def runs(
        self, tenant_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[RunSummary]:
        runs = [r for r in self.runs_.values() if r.tenant == tenant_id]
        return sorted(runs, key=lambda r: r.id, reverse=True)[:limit]

    async def run(self, run_id: int) -> RunDetail:
        summary = self._run(run_id)
        counts: dict[tuple[str, str, str], int] = {}
        for o in self.ops_.values():
            if o.run_id == run_id:
                k = (o.status, o.action, o.kind)
                counts[k] = counts.get(k, 0) + 1
        held = run_id in self.held_
        return RunDetail(
            summary=summary,
            operations=tuple(OperationCount(s, a, k, n) for (s, a, k), n in sorted(counts.items())),
            findings=2 if run_id == 3 else 0,
            guard={"held": held, "reasons": list(self.held_[run_id].reasons) if held else []},
            timeline=tuple(self.events_.get(run_id, [])[:6]),
        )

    async def operations(
        self,
        run_id: int,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[OperationView]:
        ops = [
            o
            for o in sorted(self.ops_.values(), key=lambda o: o.id)
            if o.run_id == run_id
            and (status is None or o.status == status)
            and (kind is None or o.kind == kind)
        ]
        return ops[offset : offset + limit]

    async def operation(self, op_id: int) -> OperationDetail:
        if op_id not in self.ops_:
            raise NotFound(f"no item {op_id}")
        o = self.ops_[op_id]
        attempts = tuple(
            Attempt(n, BASE + timedelta(minutes=n), "failed", o.reason, o.last_error)
            for n in range(1, o.attempts + 1)
        )
        return OperationDetail(
            operation=o,
            attempts=attempts,
            desired={"displayName": o.label, "mailNickname": "anna.andersson"},
            source_record={
                "givenName": "Anna",
                "familyName": "Andersson",
                "civicNo": "(held for matching only, never shown)",
            },
            record_type="person",
            record_key="p-anna",
        )

    async def failures(
        self, tenant_id: str | None = None, *, limit: int = 200, offset: int = 0
    ) -> list[OperationView]:
        ops = [
            o
            for o in sorted(self.ops_.values(), key=lambda o: o.id)
            if o.status in ("failed", "dead", "blocked")
            and (tenant_id is None or o.tenant == tenant_id)
        ]
        return ops[offset : offset + limit]

    async def findings(
        self,
        tenant_id: str,
        *,
        run_id: int | None = None,
        severity: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[FindingView]:
        if tenant_id != "alpha":
            return []
        rows = [
            FindingView(
                1,
                3,
                "alpha",
                "person.no_school",
                "blocking",
                "person",
                "p-carl",
                "Carl C.",
                "The person has no school placement",
                "Add a placement in the source system",
            ),
            FindingView(
                2,
                3,
                "alpha",
                "group.no_teacher",
                "warning",
                "group",
                "g-7b",
                "7B Svenska",
                "The group has no teacher",
                "Assign a teacher in the source system",
            ),
        ]
        rows = [f for f in rows if severity is None or f.severity == severity]
        return rows[offset : offset + limit]

    async def held_plans(self, tenant_id: str | None = None) -> list[HeldPlanView]:
        return [p for p in self.held_.values() if tenant_id is None or p.tenant == tenant_id]

    async def events(
        self,
        run_id: int,
        *,
        after_id: int = 0,
        level: str | None = None,
        contains: str | None = None,
        limit: int = 500,
    ) -> list[EventView]:
        self.calls.append(("events", run_id, after_id))
        self._run(run_id)
        return [e for e in self.events_.get(run_id, []) if e.id > after_id][:limit]

    async def search(
        self, query: str, *, tenant_id: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        self.calls.append(("search", query))
        hits = [
            SearchHit(
                "alpha", "person", "p-anna", "Anna Andersson", "student, 7A", {"microsoft": None}
            ),
            SearchHit(
                "beta", "person", "p-anna-b", "Anna Berg", "teacher", {"microsoft": "usr-991"}
            ),
            SearchHit("alpha", "group", "g-7a", "7A", "Klass", {"microsoft": "grp-7a"}),
        ]
        q = query.lower()
        return [h for h in hits if q in h.label.lower() or q in h.key.lower()][:limit]

    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        self.calls.append(("explain", tenant_id, record_type, key))
        ops = tuple(o for o in self.ops_.values() if "Anna" in o.label) if key == "p-anna" else ()
        return Explanation(
            tenant=tenant_id,
            record_type=record_type,
            key=key,
            label="Anna Andersson" if key == "p-anna" else key,
            source_record={"givenName": "Anna", "familyName": "Andersson"},
            findings=(),
            desired={"microsoft": {"user": {"displayName": "Anna Andersson"}}},
            observed={"microsoft": {}},
            operations=ops,
            summary="Anna Andersson is missing in microsoft: creating her user failed (throttled); "
            "retry item 101.",
        )

    async def elevations(self, tenant_id: str | None = None) -> list[ElevationView]:
        return [e for e in self.elevations_.values() if tenant_id in (None, e.tenant)]

    async def audit(self, tenant_id: str | None = None, *, limit: int = 200) -> list[AuditView]:
        return []

    async def agents(self, tenant_id: str | None = None) -> list[AgentStatusView]:
        """beta's agent uploaded 20 minutes ago; gamma's never has (stale)."""
        found = [
            AgentStatusView(
                tenant="beta",
                inbox="/srv/ess/inbox",
                agent="beta-skola",
                last_upload=NOW - timedelta(minutes=20),
                version="0.1.0",
                seq=412,
                counts={"persons": 1800, "groups": 95},
                max_age_hours=26.0,
                stale=False,
            ),
            AgentStatusView("gamma", "/srv/ess/inbox", None, None, None, None, {}, 26.0, True),
        ]
        return [a for a in found if tenant_id in (None, a.tenant)]

    async def can(self, action: WriteAction, tenant_id: str) -> Decision:
        if self.read_only:
            return Decision(False, "read-only: this session may only look")
        tier = TIERS[tenant_id]
        ev = self._active(tenant_id)
        if tier == "bronze" or (ev is not None and ev.status == "active"):
            return Decision(True)
        if tier == "silver":
            return Decision(False, f"{tenant_id} is silver: activate an elevation with a reason")
        return Decision(False, f"{tenant_id} is gold: needs an elevation the customer approved")

    # ----- commands -----
    async def sync(
        self,
        tenant_id: str,
        *,
        dry_run: bool = False,
        targets: Sequence[str] | None = None,
        full: bool = False,
        trigger: str = "manual",
        progress: ProgressFn | None = None,
    ) -> RunSummary:
        self.calls.append(("sync", tenant_id, dry_run, trigger))
        if not dry_run:
            await self._check("sync", tenant_id)
        run_id = max(self.runs_) + 1
        run = RunSummary(
            run_id,
            tenant_id,
            "succeeded",
            trigger,
            self.actor,
            dry_run,
            NOW,
            NOW,
            {"planned": 3, "done": 0 if dry_run else 3},
            targets=("microsoft",),
        )
        self.runs_[run_id] = run
        self.events_[run_id] = []
        self.add_event(run_id, "info", f"run {run_id} started by {self.actor}")
        return run

    async def retry(self, op_ids: Sequence[int]) -> CommandResult:
        self.calls.append(("retry", tuple(op_ids)))
        for op_id in op_ids:
            await self._check("retry", self.ops_[op_id].tenant)
        for op_id in op_ids:
            o = self.ops_[op_id]
            self.ops_[op_id] = replace(o, status="done", attempts=o.attempts + 1)
        return CommandResult(True, f"{len(op_ids)} items retried: {len(op_ids)} done", len(op_ids))

    async def count_operations(
        self, run_id: int, *, status: str | None = None, kind: str | None = None
    ) -> int:
        return len(await self.operations(run_id, status=status, kind=kind, limit=10**9))

    async def count_failures(self, tenant_id: str | None = None) -> int:
        return len(await self.failures(tenant_id, limit=10**9))

    async def count_findings(
        self, tenant_id: str, *, run_id: int | None = None, severity: str | None = None
    ) -> int:
        rows = await self.findings(tenant_id, run_id=run_id, severity=severity, limit=10**9)
        return len(rows)

    async def open_failures(self, run_id: int) -> list[OperationView]:
        self._run(run_id)
        ops = sorted(self.ops_.values(), key=lambda o: o.id)
        return [o for o in ops if o.run_id == run_id and o.open]

    async def retry_run(self, run_id: int) -> CommandResult:
        ids = [o.id for o in await self.open_failures(run_id)]
        if not ids:
            return CommandResult(True, f"run {run_id} has no open failed items")
        return await self.retry(ids)

    async def skip(self, op_ids: Sequence[int], *, reason: str) -> CommandResult:
        self.calls.append(("skip", tuple(op_ids), reason))
        for op_id in op_ids:
            await self._check("skip", self.ops_[op_id].tenant)
            self.ops_[op_id] = replace(self.ops_[op_id], status="skipped")
        return CommandResult(True, f"{len(op_ids)} items skipped", len(op_ids))

    async def approve(self, run_id: int, *, reason: str = "") -> RunSummary:
        self.calls.append(("approve", run_id, reason))
        run = self._run(run_id)
        await self._check("approve", run.tenant)
        del self.held_[run_id]
        self.runs_[run_id] = replace(run, status="succeeded", counts={"planned": 131, "done": 131})
        return self.runs_[run_id]

    async def reject(self, run_id: int, *, reason: str = "") -> CommandResult:
        self.calls.append(("reject", run_id, reason))
        run = self._run(run_id)
        await self._check("reject", run.tenant)
        del self.held_[run_id]
        self.runs_[run_id] = replace(run, status="rejected")
        return CommandResult(True, f"plan of run {run_id} rejected", 131, run_id)

    async def elevate(self, tenant_id: str, *, reason: str, minutes: int = 60) -> ElevationView:
        self.calls.append(("elevate", tenant_id, reason, minutes))
        if self.read_only:
            raise PolicyRefused("read-only: this session may only look")
        ev_id = len(self.elevations_) + 1
        ev = ElevationView(
            ev_id,
            tenant_id,
            self.actor,
            reason,
            NOW,
            NOW + timedelta(minutes=minutes),
            "active" if TIERS[tenant_id] == "silver" else "pending_approval",
        )
        self.elevations_[ev_id] = ev
        return ev

    async def approve_elevation(
        self, elevation_id: int, *, approver: str, signature: str = ""
    ) -> ElevationView:
        ev = replace(self.elevations_[elevation_id], status="active", approved_by=approver)
        self.elevations_[elevation_id] = ev
        return ev
