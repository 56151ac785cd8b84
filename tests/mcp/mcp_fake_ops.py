"""An in-memory stand-in for the ops facade with the shape of the shared test scenario.

It follows the contract of engine.ops.Ops (views, errors, tiers, read-only, audit) so the
server's tool surface can be tested without a journal; the scenario tests run the same tools
over the real facade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from engine.ops import NotFound, Ops, PolicyRefused, ProgressFn, WriteAction
from engine.views import (
    AuditView,
    CommandResult,
    Decision,
    EventView,
    Explanation,
    FindingView,
    HeldPlanView,
    OperationCount,
    OperationView,
    RunDetail,
    RunSummary,
    SearchHit,
    TenantDetail,
    TenantHealth,
)

T0 = datetime(2025, 8, 18, 6, 0, tzinfo=UTC)
# A personnummer-like number that a vendor error message might quote; the server must scrub it.
LEAKY_NUMBER = "200501021234"
UUID_WITH_DIGITS = "0a1b2c3d-4e5f-4a6b-8c7d-123456789012"


def _run(rid: int, tenant: str, status: str, **kw: object) -> RunSummary:
    start = T0 + timedelta(hours=rid)
    return RunSummary(
        id=rid,
        tenant=tenant,
        status=status,
        trigger="schedule",
        actor="scheduler",
        dry_run=False,
        started_at=start,
        finished_at=None if status == "running" else start + timedelta(minutes=3),
        counts={"planned": 40, "done": 36, "failed": 2, "dead": 1, "blocked": 1},
        targets=("microsoft",),
        **kw,  # type: ignore[arg-type]
    )


def _op(oid: int, status: str, kind: str, label: str, reason: str, error: str) -> OperationView:
    return OperationView(
        id=oid,
        run_id=3,
        tenant="alpha",
        target="microsoft",
        action="create",
        kind=kind,
        key=f"p-{oid}",
        parent=None,
        label=label,
        status=status,
        attempts=3,
        reason=reason,
        last_error=error,
        target_id=None,
        updated_at=T0,
        advice="Retry after fixing the cause.",
    )


class _Data:
    """The journal's stand-in, shared by every FakeOps opened over it (one per actor)."""

    def __init__(self) -> None:
        self.audit_rows: list[AuditView] = []
        self.elevated: set[str] = set()
        self.runs: dict[int, RunSummary] = {
            1: _run(1, "alpha", "succeeded"),
            2: _run(2, "alpha", "succeeded"),
            3: _run(3, "alpha", "partial", error="3 items failed"),
            4: _run(4, "beta", "succeeded"),
            5: _run(5, "beta", "held"),
        }
        self.ops: list[OperationView] = [
            _op(101, "failed", "user", "Alva Berg", "licence", "no licence left"),
            _op(
                102,
                "dead",
                "user",
                "Nils Ek",
                "conflict",
                f"target said: duplicate for {LEAKY_NUMBER}",
            ),
            _op(103, "blocked", "class.member", "Nils Ek in 7A", "depends", "waits for 102"),
        ]
        for i in range(104, 134):  # enough items to page
            self.ops.append(
                _op(
                    i,
                    "failed",
                    "class.member",
                    f"Pupil {i} in 8B",
                    "throttled",
                    "429 Too Many Requests",
                )
            )
        self.findings: list[FindingView] = [
            FindingView(
                id=i,
                run_id=3,
                tenant="alpha",
                code="person.no_school",
                severity="blocking" if i % 2 else "warning",
                record_type="person",
                record_id=f"p-{i}",
                label=f"Pupil {i}",
                message=f"person has no school (ssn {LEAKY_NUMBER})"
                if i == 1
                else "person has no school",
                fix="Give the person a school placement in the source.",
            )
            for i in range(1, 6)
        ]
        self.events: list[EventView] = [
            EventView(
                id=i,
                run_id=3,
                tenant="alpha",
                at=T0 + timedelta(seconds=i),
                level="error" if i % 10 == 0 else "info",
                message=f"step {i} on {UUID_WITH_DIGITS}",
            )
            for i in range(1, 261)
        ]
        self.events.append(
            EventView(
                id=261,
                run_id=3,
                tenant="alpha",
                at=T0 + timedelta(seconds=261),
                level="error",
                message=f"vendor error: civicNo {LEAKY_NUMBER} rejected",
            )
        )


class FakeOps(Ops):
    def __init__(
        self, *, actor: str = "mcp:unknown", read_only: bool = False, data: _Data | None = None
    ) -> None:
        self.actor = actor
        self.read_only = read_only
        self.closed = False
        self.d = data or _Data()

    def for_actor(self, actor: str) -> FakeOps:
        """Another facade over the same data, as Ops.open(config, actor=...) would give."""
        return FakeOps(actor=actor, read_only=False, data=self.d)

    @property
    def audit_rows(self) -> list[AuditView]:
        return self.d.audit_rows

    async def close(self) -> None:
        self.closed = True

    # ----- queries -----
    def _health(self, tid: str) -> TenantHealth:
        tier = {"alpha": "bronze", "beta": "silver", "gamma": "gold"}[tid]
        runs = [r for r in self.d.runs.values() if r.tenant == tid]
        last = max(runs, key=lambda r: r.id) if runs else None
        health = {"alpha": "failing", "beta": "held", "gamma": "never_run"}[tid]
        return TenantHealth(
            id=tid,
            name=f"{tid.title()} kommun",
            tier=tier,
            health=health,  # type: ignore[arg-type]
            last_run=last,
            next_run=None,
            failed_items=len(self._open_ops()) if tid == "alpha" else 0,
            held_plans=1 if tid == "beta" and self.d.runs[5].status == "held" else 0,
            blocking_findings=3 if tid == "alpha" else 0,
            warning_findings=2 if tid == "alpha" else 0,
            targets=("microsoft",),
            source="ss12000",
        )

    def _check_tenant(self, tid: str) -> None:
        if tid not in ("alpha", "beta", "gamma"):
            raise NotFound(f"no tenant {tid!r} (tenants: alpha, beta, gamma)")

    def _open_ops(self) -> list[OperationView]:
        return [o for o in self.d.ops if o.status in ("failed", "dead", "blocked")]

    async def tenants(self) -> list[TenantHealth]:
        return [self._health(t) for t in ("alpha", "beta", "gamma")]

    async def tenant(self, tenant_id: str) -> TenantDetail:
        self._check_tenant(tenant_id)
        return TenantDetail(
            health=self._health(tenant_id),
            config={"source": {"type": "ss12000", "client_secret": "env:ALPHA_SECRET"}},
            schedule="0 5 * * *",
            timezone="Europe/Stockholm",
        )

    async def runs(
        self, tenant_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[RunSummary]:
        self._check_tenant(tenant_id)
        rows = sorted(
            (r for r in self.d.runs.values() if r.tenant == tenant_id), key=lambda r: -r.id
        )
        if before is not None:
            rows = [r for r in rows if r.id < before]
        return rows[:limit]

    async def run(self, run_id: int) -> RunDetail:
        if run_id not in self.d.runs:
            raise NotFound(f"no run {run_id}")
        return RunDetail(
            summary=self.d.runs[run_id],
            operations=(OperationCount("failed", "create", "user", 1),),
            findings=5 if run_id == 3 else 0,
            guard={
                "held": run_id == 5,
                "reasons": ["would delete 120 of 400 users"] if run_id == 5 else [],
            },
            timeline=tuple(e for e in self.d.events if e.run_id == run_id)[:3]
            + tuple(e for e in self.d.events if e.id == 261 and e.run_id == run_id),
        )

    async def failures(
        self, tenant_id: str | None = None, *, limit: int = 200, offset: int = 0
    ) -> list[OperationView]:
        if tenant_id is not None:
            self._check_tenant(tenant_id)
        rows = [o for o in self._open_ops() if tenant_id in (None, o.tenant)]
        return rows[offset : offset + limit]

    async def findings(
        self,
        tenant_id: str,
        *,
        run_id: int | None = None,
        severity: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[FindingView]:
        self._check_tenant(tenant_id)
        rows = [
            f
            for f in self.d.findings
            if f.tenant == tenant_id
            and severity in (None, f.severity)
            and run_id in (None, f.run_id)
        ]
        return rows[offset : offset + limit]

    async def held_plans(self, tenant_id: str | None = None) -> list[HeldPlanView]:
        if tenant_id is not None:
            self._check_tenant(tenant_id)
        if self.d.runs[5].status != "held" or tenant_id not in (None, "beta"):
            return []
        return [
            HeldPlanView(
                run_id=5,
                tenant="beta",
                held_at=T0,
                reasons=("delete user 30%",),
                would_remove={"delete user": 120},
                examples=("Elev A", "Elev B"),
                total_operations=140,
            )
        ]

    async def events(
        self,
        run_id: int,
        *,
        after_id: int = 0,
        level: str | None = None,
        contains: str | None = None,
        limit: int = 500,
    ) -> list[EventView]:
        if run_id not in self.d.runs:
            raise NotFound(f"no run {run_id}")
        rows = [
            e
            for e in self.d.events
            if e.run_id == run_id
            and e.id > after_id
            and level in (None, e.level)
            and (contains is None or contains in e.message)
        ]
        return rows[:limit]

    async def search(
        self, query: str, *, tenant_id: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        hits = [
            SearchHit("alpha", "person", "p-101", "Alva Berg", "student", {"microsoft": None}),
            SearchHit("alpha", "person", "p-102", "Nils Ek", "student", {"microsoft": "u-9"}),
            SearchHit("alpha", "group", "g-7a", "7A", "Klass", {"microsoft": "grp-7a"}),
            SearchHit("alpha", "person", "p-200", "(protected identity)", "student", {}),
        ]
        q = query.lower()
        return [
            h
            for h in hits
            if (q in h.label.lower() or q in h.key) and tenant_id in (None, h.tenant)
        ][:limit]

    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        self._check_tenant(tenant_id)
        if key not in ("p-101", "p-102"):
            raise NotFound(f"no {record_type} {key!r} in tenant {tenant_id!r}")
        return Explanation(
            tenant=tenant_id,
            record_type=record_type,
            key=key,
            label="Nils Ek",
            source_record={
                "givenName": "Nils",
                "familyName": "Ek",
                "civicNo": "[redacted]",
                "note": f"old id {LEAKY_NUMBER}",
            },
            findings=(self.d.findings[0],),
            desired={"microsoft": {"user": {"displayName": "Nils Ek"}}},
            observed={"microsoft": {"user": {"target_id": None}}},
            operations=(self.d.ops[1],),
            summary="Nils Ek has no account: the create failed as a duplicate.",
        )

    async def can(self, action: WriteAction, tenant_id: str) -> Decision:
        self._check_tenant(tenant_id)
        if self.read_only:
            return Decision(False, "read-only: this session may not change anything")
        tier = self._health(tenant_id).tier
        if tier == "silver" and tenant_id not in self.d.elevated:
            return Decision(False, "silver tier: activate an elevation with a reason first")
        if tier == "gold" and tenant_id not in self.d.elevated:
            return Decision(False, "gold tier: a customer approver must approve an elevation")
        return Decision(True)

    async def _command(self, action: WriteAction, tenant_id: str, detail: str) -> None:
        decision = await self.can(action, tenant_id)
        self.d.audit_rows.append(
            AuditView(
                len(self.d.audit_rows) + 1,
                T0,
                self.actor,
                action,
                tenant_id,
                decision.allowed,
                detail,
            )
        )
        if not decision.allowed:
            raise PolicyRefused(decision.reason)

    def _tenant_of_ops(self, op_ids: Sequence[int]) -> str:
        found = [o for o in self.d.ops if o.id in op_ids]
        if len(found) != len(set(op_ids)):
            raise NotFound(f"no items {sorted(set(op_ids) - {o.id for o in found})}")
        return found[0].tenant

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
        self._check_tenant(tenant_id)
        if not dry_run:
            await self._command("sync", tenant_id, "sync")
        rid = max(self.d.runs) + 1
        run = replace(
            _run(rid, tenant_id, "succeeded"), trigger=trigger, actor=self.actor, dry_run=dry_run
        )
        self.d.runs[rid] = run
        return run

    async def retry(self, op_ids: Sequence[int]) -> CommandResult:
        tenant = self._tenant_of_ops(op_ids)
        await self._command("retry", tenant, f"retry {list(op_ids)}")
        self.d.ops = [replace(o, status="done") if o.id in op_ids else o for o in self.d.ops]
        return CommandResult(True, f"retried {len(op_ids)} item(s)", affected=len(op_ids))

    async def skip(self, op_ids: Sequence[int], *, reason: str) -> CommandResult:
        tenant = self._tenant_of_ops(op_ids)
        await self._command("skip", tenant, f"skip {list(op_ids)}: {reason}")
        self.d.ops = [replace(o, status="skipped") if o.id in op_ids else o for o in self.d.ops]
        return CommandResult(True, f"skipped {len(op_ids)} item(s)", affected=len(op_ids))

    async def approve(self, run_id: int, *, reason: str = "") -> RunSummary:
        if run_id not in self.d.runs:
            raise NotFound(f"no run {run_id}")
        await self._command("approve", self.d.runs[run_id].tenant, reason)
        self.d.runs[run_id] = replace(self.d.runs[run_id], status="succeeded")
        return self.d.runs[run_id]

    async def reject(self, run_id: int, *, reason: str = "") -> CommandResult:
        if run_id not in self.d.runs:
            raise NotFound(f"no run {run_id}")
        await self._command("reject", self.d.runs[run_id].tenant, reason)
        self.d.runs[run_id] = replace(self.d.runs[run_id], status="rejected")
        return CommandResult(True, "plan rejected", run_id=run_id)
