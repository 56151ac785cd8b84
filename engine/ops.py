"""The ops facade: the one door through which the CLI, the console and the MCP server read and act.

Policy lives here, not in the front ends: read-only mode, the tenant's support tier and its
elevations, the tenants the actor serves (:mod:`engine.tenant_scope`), and an audit row for
every command with its actor. A front end asks
:meth:`Ops.can` to show an action as disabled (with the reason) and calls the command; the
command checks again, so no front end can bypass the policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

import orjson

from engine import approval, plugins, rekey, runner
from engine.agent_source import agent_statuses
from engine.audit_chain import AuditHead as AuditHead  # front ends show and parse heads
from engine.audit_chain import AuditLink, verify_chain
from engine.audit_chain import ChainVerdict as ChainVerdict
from engine.cache_forget import plan_cache_forget, write_cache_forget
from engine.civic_hash import is_hashed
from engine.config import ConfigError, LoadedConfig, TenantConfig
from engine.config import load as load_config
from engine.display import PERSONNUMMER, visible
from engine.executor import RetryPolicy
from engine.findings import Severity
from engine.first_sign_in import InitialPasswords
from engine.hand_over import PasswordReset as PasswordReset
from engine.hand_over import check_first_sign_in, hand_over
from engine.journal import (
    ElevationRecord,
    EventRecord,
    FindingRecord,
    Forgotten,
    Journal,
    LeaseHeld,
    OperationRecord,
    Pruned,
    RunRecord,
    SqliteJournal,
    tenant_rows,
)
from engine.journal import JournalError as JournalError  # front ends map these to messages
from engine.journal import JournalWriteError as JournalWriteError
from engine.journal import LeaseLost as LeaseLost
from engine.journal.agent_uploads import JournalUploads
from engine.journal.upkeep import JournalBackup as JournalBackup
from engine.journal.upkeep import JournalCheck as JournalCheck
from engine.journal.upkeep import backup_journal, check_journal
from engine.journal_store import JournalMove as JournalMove
from engine.journal_store import (
    inspect_postgres,
    journal_location,
    move_to_postgres,
    open_configured,
)
from engine.limits import Limit, shortened, strictest
from engine.notify.courier import ChannelTest as ChannelTest
from engine.notify.courier import CourierReport as CourierReport
from engine.notify.courier import deliver_due, send_tests
from engine.personnummer import KEPT_WRONG_CHECK, looks_like
from engine.plan import REMOVALS, TROUBLE_STATUSES, Action, OpStatus
from engine.policy import active_elevation, decide, elevation_view
from engine.redact import HIDDEN_ERROR, PROTECTED_LABEL, masked_attrs, pseudonym
from engine.secrets import SecretError
from engine.source import SourceContext, SourceError
from engine.target import Attrs
from engine.tenant_files import (
    NOT_LOOKED_FOR,
    TenantFiles,
    find_tenant_files,
    remove_tenant_files,
)
from engine.tenant_scope import TenantScope, operator_scope
from engine.validate import check_read
from engine.views import (
    AgentStatusView,
    ApproverView,
    Attempt,
    AuditView,
    CheckItemView,
    CommandResult,
    Decision,
    ElevationView,
    EventView,
    Explanation,
    FailureCause,
    FindingView,
    HeldPlanView,
    OperationDetail,
    OperationView,
    PersonExport,
    PersonForgotten,
    Progress,
    RekeyRecord,
    RekeyReport,
    RunDetail,
    RunProgress,
    RunSummary,
    SearchHit,
    SourceCheck,
    SourceHoldView,
    TargetCheck,
    TenantDetail,
    TenantHealth,
)

WriteAction = Literal[
    "sync",
    "retry",
    "skip",
    "approve",
    "reject",
    "source_rekey",
    "source_release",
    "password_reset",
]
"""Commands that change a target or the journal's plan; a dry run is not a write."""


class OpsError(Exception):
    """A command that cannot be done; the message says why and what to do instead."""


class PolicyRefused(OpsError):
    """The actor may not do this now (read-only, tier, missing elevation)."""


class NotFound(OpsError):
    """No such tenant, run, operation or record."""


class OutOfScope(PolicyRefused):
    """The tenant is not among those the actor serves (``tenants`` of their identity)."""


class Busy(OpsError):
    """Another run of this tenant holds the lease."""

    def __init__(self, message: str, *, expires_in: float | None = None) -> None:
        super().__init__(message)
        self.expires_in = expires_in  # seconds until the holder's lease runs out, when known


class ConfigurationError(OpsError):
    """A tenant's source or target table cannot be used (a bad key, a secret that does not
    resolve, an adapter that is not installed)."""


class Unreachable(OpsError):
    """The source or a target could not be reached or refused the login."""


ProgressFn = Callable[[Progress], None]
T = TypeVar("T")


CREDENTIALS_EVERY = timedelta(hours=1)
"""How often a long-running process asks the targets when their credentials run out."""

HEALTH_ORDER = {"failing": 0, "held": 1, "warning": 2, "running": 3, "never_run": 4, "ok": 5}


def default_actor(front: str) -> str:
    """``front:user``, the actor recorded in audit rows (see :func:`os_actor`)."""
    return os_actor(front)


SHARED_ACCOUNT = " (shared account)"


def os_user() -> tuple[str, bool]:
    """The OS account this process runs as, from its user id (not from ``$USER`` or
    ``$LOGNAME``, which anyone can set), and whether it is shared (root). Per-person accounts
    are the documented setup."""
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without an entry (some containers)
        name = f"uid{uid}"
    return name, uid == 0


def os_actor(front: str, note: str | None = None, *, host: str | None = None) -> str:
    """``front:<OS user>`` for the audit, and what the person gave (``--actor``) only as a
    note beside it: a name typed on the command line proves nothing about who typed it. root
    is flagged as a shared account."""
    name, shared = os_user()
    actor = f"{front}:{name}" + (f"@{host}" if host else "") + (SHARED_ACCOUNT if shared else "")
    if note and note.strip():
        actor += f" [note: {visible(' '.join(note.split()), newlines=False)}]"
    return actor


class Ops:
    """Queries and commands over one configuration and its journal, on behalf of one actor.

    ``scope`` is the tenants the actor serves; without one, those of the OS account this process
    runs as (``[operators.NAME]``). Every query shows only those tenants' rows, every command on
    another tenant is refused and audited, and a run, item or elevation of another tenant is
    "not found", so that its existence does not leak."""

    def __init__(
        self,
        cfg: LoadedConfig,
        journal: Journal,
        *,
        actor: str,
        read_only: bool = False,
        scope: TenantScope | None = None,
    ) -> None:
        self.cfg = cfg
        self.journal = journal
        self.actor = actor
        self.scope = scope if scope is not None else operator_scope(cfg.config, os_user()[0])
        self._credentials_asked: datetime | None = None
        self.read_only = read_only or (cfg.config.console.read_only and actor.startswith("console"))

    @classmethod
    async def open(
        cls,
        config: str | Path | LoadedConfig | None = None,
        *,
        actor: str,
        read_only: bool = False,
        scope: TenantScope | None = None,
    ) -> Ops:
        cfg = config if isinstance(config, LoadedConfig) else load_config(config)
        journal = await open_configured(cfg, civic_hash=cfg.civic_hash(on_first_use=True))
        ops = cls(cfg, journal, actor=actor, read_only=read_only, scope=scope)
        for tid, t in cfg.config.tenants.items():
            await journal.upsert_tenant(tid, t.name or tid, t.tier)
        return ops

    async def close(self) -> None:
        await self.journal.close()

    async def __aenter__(self) -> Ops:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def within(self, scope: TenantScope, *, actor: str | None = None) -> Ops:
        """This facade for another identity on the same journal (an MCP request's token): the
        scope is what both allow; closing it is closing this one's journal, so only the owner
        closes."""
        view = Ops(
            self.cfg,
            self.journal,
            actor=actor or self.actor,
            read_only=self.read_only,
            scope=self.scope.within(scope),
        )
        view._credentials_asked = self._credentials_asked
        return view

    # ------------------------------------------------------------------ helpers
    def _tenant(self, tenant_id: str) -> TenantConfig:
        if not self.scope.allows(tenant_id):
            raise OutOfScope(self.scope.refusal(tenant_id))
        try:
            return self.cfg.tenant(tenant_id)
        except KeyError as exc:
            raise NotFound(str(exc.args[0])) from None

    async def _served(self, tenant_id: str, action: str) -> TenantConfig:
        """The tenant's configuration, when the actor serves it; a refusal is audited."""
        try:
            return self._tenant(tenant_id)
        except OutOfScope as exc:
            await self._refused_scope(action, tenant_id, str(exc))
            raise

    async def _in_scope(self, tenant_id: str, action: str) -> None:
        """Refuse (audited) a tenant the actor does not serve; whether it exists is for the
        query to say, as it did before scopes."""
        if not self.scope.allows(tenant_id):
            await self._refused_scope(action, tenant_id, self.scope.refusal(tenant_id))
            raise OutOfScope(self.scope.refusal(tenant_id))

    async def _refused_scope(self, action: str, tenant_id: str, why: str) -> None:
        await self.journal.add_audit(
            self.actor, action, tenant_id, False, f"refused: outside the actor's tenants: {why}"
        )

    def _served_ids(self) -> list[str]:
        """The configured tenants the actor serves, in ess.toml's order."""
        return self.scope.pick(self.cfg.config.tenants)

    async def _hidden(
        self, kind: Literal["run", "item", "elevation"], tenant_id: str, what: str
    ) -> NotFound:
        """A run, item or elevation of a tenant the actor does not serve: audited, and told
        apart from one that does not exist by nothing."""
        await self._refused_scope(f"{kind}_lookup", tenant_id, f"{kind} {what}")
        return NotFound(_NOT_FOUND[kind].format(what=what))

    def _opts(self, tenant_id: str, trigger: str, **kw: Any) -> runner.RunOptions:
        pol = self._tenant(tenant_id).policy
        retry = RetryPolicy(pol.max_attempts, pol.retry_base_s, pol.retry_max_s)
        return runner.RunOptions(actor=self.actor, trigger=trigger, retry=retry, **kw)

    async def _run_record(self, run_id: int) -> RunRecord:
        run = await self.journal.get_run(run_id)
        if run is None:
            raise NotFound(_NOT_FOUND["run"].format(what=run_id))
        if not self.scope.allows(run.tenant):
            raise await self._hidden("run", run.tenant, str(run_id))
        return run

    def _summary(self, run: RunRecord) -> RunSummary:
        return RunSummary(
            id=run.id,
            tenant=run.tenant,
            status=run.status,
            trigger=run.trigger,
            actor=run.actor,
            dry_run=run.dry_run,
            started_at=run.started_at,
            finished_at=run.finished_at,
            counts=run.counts,
            error=run.error,
            targets=run.targets,
            held_reasons=(
                tuple(str(r) for r in run.guard.get("reasons", ())) if run.guard.get("held") else ()
            ),
        )

    async def _masked(self, tenant_id: str) -> frozenset[str]:
        """The persons of the tenant whose identity is protected and masked now: every view
        of their operations, past runs' included, shows the pseudonym only."""
        return await self.journal.masked_persons(tenant_id, PROTECTED_LABEL)

    async def _event_masker(self, tenant_id: str) -> Callable[[str], str]:
        """What shows a run log line: the names a protected person was known by before they
        became protected (their display name, their account name) replaced by the pseudonym,
        in past runs' lines too. The line stays as written in the journal; every front end
        reads it through here."""
        masked = await self._masked(tenant_id)
        if not masked:
            return _same
        names = await self.journal.person_names(tenant_id, sorted(masked))
        swaps = sorted(
            (
                (name, pseudonym(pid))
                for pid, known in names.items()
                for name in known
                if len(name.strip()) >= 3 and not name.startswith(PROTECTED_LABEL)
            ),
            key=lambda pair: -len(pair[0]),  # "Eva Ekström" before "Eva Ek"
        )
        if not swaps:
            return _same
        pattern = re.compile("|".join(re.escape(n) for n, _ in swaps), re.IGNORECASE)
        table = {n.casefold(): p for n, p in swaps}

        def hide(text: str) -> str:
            return pattern.sub(lambda m: table.get(m.group(0).casefold(), PROTECTED_LABEL), text)

        return hide

    async def _op_views(self, rows: list[OperationRecord]) -> list[OperationView]:
        masked: dict[str, frozenset[str]] = {}
        for t in {r.tenant for r in rows}:
            masked[t] = await self._masked(t)
        return [self._op_view(r, masked[r.tenant]) for r in rows]

    def _op_view(self, r: OperationRecord, masked: frozenset[str] = frozenset()) -> OperationView:
        op = r.op
        hidden = next((k for k in (op.key, op.parent) if k is not None and k in masked), None)
        if hidden is not None:  # written before the person was protected: names in it
            label, last_error = pseudonym(hidden), HIDDEN_ERROR if r.last_error else ""
        else:
            label, last_error = op.label or op.key, r.last_error
        return OperationView(
            id=op.id,
            run_id=r.run_id,
            tenant=r.tenant,
            target=op.target,
            action=op.action.value,
            kind=op.kind,
            key=op.key,
            parent=op.parent,
            label=label,
            status=r.status.value,
            attempts=op.attempts,
            reason=r.reason,
            last_error=last_error,
            target_id=op.target_id,
            updated_at=r.updated_at,
            advice=_advice(r),
            superseded=r.superseded,
            request_id=r.request_id,
        )

    async def _elevations(self, tenant_id: str) -> list[ElevationView]:
        now = datetime.now(UTC)
        rows = await self._signed(await self.journal.list_elevations(tenant_id))
        return [elevation_view(r, now) for r in rows]

    async def _signed(self, rows: list[ElevationRecord]) -> list[ElevationRecord]:
        """The rows with a gold approval kept only where the approver's enrolled key verifies
        its signature of the elevation's challenge: an approval written into the journal any
        other way approves nothing."""
        keys: dict[tuple[str, str], str] = {}
        for t in {r.tenant for r in rows if r.needs_approval and r.approved_by}:
            keys.update(
                ((k.tenant, k.name), k.public_key) for k in await self.journal.approver_keys(t)
            )
        out = []
        for r in rows:
            if r.needs_approval and r.approved_by:
                key = keys.get((r.tenant, r.approved_by))
                if key is None or not approval.verified(
                    key, approval.challenge(_facts(r)), r.approval_signature or ""
                ):
                    r = replace(r, approved_by=None, approved_at=None)
            out.append(r)
        return out

    async def _open_records(self, run_id: int) -> list[OperationRecord]:
        """A run's open failures: failed, dead or blocked, and not replaced by a later run."""
        found: list[OperationRecord] = []
        for status in sorted(s.value for s in TROUBLE_STATUSES):
            rows = await self.journal.list_operations(run_id, status=status, limit=10**9)
            found += [r for r in rows if not r.superseded]
        return sorted(found, key=lambda r: r.op.id)

    async def _guarded(
        self,
        action: WriteAction | Literal["elevate"],
        tenant_id: str,
        detail: str,
        *,
        dry_run: bool = False,
    ) -> None:
        """Check the policy and write the audit row, allowed or refused."""
        tenant = await self._served(tenant_id, action)
        if action == "elevate":
            decision = Decision(not self.read_only, "read-only mode" if self.read_only else "")
        else:
            decision = decide(
                read_only=self.read_only,
                tier=tenant.tier,
                elevations=await self._elevations(tenant_id),
                dry_run=dry_run,
            )
        await self.journal.add_audit(
            self.actor,
            action,
            tenant_id,
            decision.allowed,
            detail if decision.allowed else f"{detail} — refused: {decision.reason}",
        )
        if not decision.allowed:
            raise PolicyRefused(decision.reason)

    def _next_run(self, tenant: TenantConfig) -> datetime | None:
        if not tenant.schedule:
            return None
        from croniter import croniter

        tz = ZoneInfo(tenant.timezone)
        # in the tenant's zone, the one its cron line is read in, so a view can show it there
        return croniter(tenant.schedule, datetime.now(tz)).get_next(datetime)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ queries
    async def tenants(self) -> list[TenantHealth]:
        last = await self.journal.last_runs()
        trouble = await self.journal.trouble_counts()
        held = await self.journal.list_runs(None, statuses=["held"], limit=1000)
        held_by: dict[str, int] = {}
        for r in held:
            held_by[r.tenant] = held_by.get(r.tenant, 0) + 1
        out = []
        for tid in self._served_ids():
            out.append(
                await self._health(tid, last.get(tid), trouble.get(tid, 0), held_by.get(tid, 0))
            )
        out.sort(key=lambda h: (HEALTH_ORDER[h.health], h.id))
        return out

    async def _health(
        self, tid: str, last: RunRecord | None, trouble: int, held: int
    ) -> TenantHealth:
        t = self.cfg.config.tenants[tid]
        summary = self._summary(last) if last is not None else None
        read_run = await self.journal.last_read_run(tid)
        fc = await self.journal.finding_counts(read_run) if read_run else {}
        elevation = active_elevation(await self._elevations(tid))
        holder = await self.journal.lease_holder(tid)
        running = holder is not None
        failing_ops = await self.journal.open_trouble(tid, limit=1)
        if running:
            health = "running"
        elif summary is None:
            health = "never_run"
        elif summary.status == "failed" or any(
            r.status in (OpStatus.FAILED, OpStatus.DEAD) for r in failing_ops
        ):
            health = "failing"
        elif held:
            health = "held"
        elif summary.status == "partial" or trouble or fc.get("blocking"):
            health = "warning"
        else:
            health = "ok"
        return TenantHealth(
            id=tid,
            name=t.name or tid,
            tier=t.tier,
            health=health,  # type: ignore[arg-type]
            last_run=summary,
            next_run=self._next_run(t),
            failed_items=trouble,
            held_plans=held,
            blocking_findings=fc.get("blocking", 0),
            warning_findings=fc.get("warning", 0),
            targets=tuple(t.targets),
            source=t.source_type(),
            elevation=elevation,
            running_on=holder.holder if holder is not None else None,
        )

    async def tenant(self, tenant_id: str) -> TenantDetail:
        t = await self._served(tenant_id, "tenant")
        last = (await self.journal.last_runs()).get(tenant_id)
        trouble = (await self.journal.trouble_counts()).get(tenant_id, 0)
        held = len(await self.journal.list_runs(tenant_id, statuses=["held"]))
        health = await self._health(tenant_id, last, trouble, held)
        return TenantDetail(
            health=health, config=_redacted_config(t), schedule=t.schedule, timezone=t.timezone
        )

    async def runs(
        self, tenant_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[RunSummary]:
        await self._served(tenant_id, "runs")
        rows = await self.journal.list_runs(tenant_id, limit=limit, before=before)
        return [await self._live(self._summary(r)) for r in rows]

    async def _live(self, summary: RunSummary) -> RunSummary:
        """A running run with the process that runs it now (the tenant's lease holder)."""
        if summary.status != "running" or summary.dry_run:
            return summary
        holder = await self.journal.lease_holder(summary.tenant)
        return replace(summary, running_on=holder.holder) if holder is not None else summary

    async def run(self, run_id: int) -> RunDetail:
        run = await self._run_record(run_id)
        counts = await self.journal.operation_counts(run_id)
        fc = await self.journal.finding_counts(run_id)
        events = await self.journal.list_events(run_id, limit=200)
        hide = await self._event_masker(run.tenant)
        timeline = tuple(_event_view(e, hide) for e in events if e.level != "debug")[:40]
        progress = None
        if run.status == "running":
            statuses: dict[str, int] = {}
            for c in counts:
                statuses[c.status] = statuses.get(c.status, 0) + c.count
            elapsed = (datetime.now(UTC) - run.started_at).total_seconds()
            progress = RunProgress.of(statuses, elapsed)
        return RunDetail(
            summary=await self._live(self._summary(run)),
            operations=tuple(counts),
            findings=sum(fc.values()),
            guard=run.guard,
            timeline=timeline,
            progress=progress,
            open_failures=len(await self._open_records(run_id)),
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
        await self._run_record(run_id)
        rows = await self.journal.list_operations(
            run_id, status=status, kind=kind, limit=limit, offset=offset
        )
        return await self._op_views(rows)

    def _record_of(self, r: OperationRecord) -> tuple[str, str]:
        """The source record behind an operation: what its target says the kind stands for
        (for a link, the child), else a guess from the usual kind names."""
        kind = r.op.kind
        record_type: str | None = None
        tenant = self.cfg.config.tenants.get(r.tenant)
        if tenant is not None and r.op.target in tenant.targets:
            try:
                cls = plugins.target_class(tenant.target_type(r.op.target))
                record_type = cls.record_types.get(kind)
            except plugins.PluginError:  # an adapter that cannot load here: guess below
                record_type = None
        if record_type is None:
            if r.op.parent is not None or kind == "user":
                record_type = "person"
            else:
                record_type = "school" if kind == "school" else "group"
        return record_type, r.op.key

    async def count_operations(
        self, run_id: int, *, status: str | None = None, kind: str | None = None
    ) -> int:
        """How many items :meth:`operations` has for these filters in all, so that a page of
        them is shown as "N of M", never as if it were everything."""
        await self._run_record(run_id)
        return sum(
            c.count
            for c in await self.journal.operation_counts(run_id)
            if (status is None or c.status == status) and (kind is None or c.kind == kind)
        )

    async def count_failures(self, tenant_id: str | None = None) -> int:
        """How many open failures :meth:`failures` has in all."""
        if tenant_id is not None:
            await self._served(tenant_id, "count_failures")
        counts = await self.journal.trouble_counts()
        if tenant_id is not None:
            return counts.get(tenant_id, 0)
        return sum(n for t, n in counts.items() if self.scope.allows(t))

    async def change_marker(self) -> str:
        """A token that moves whenever anyone commits to the journal (see
        :meth:`engine.journal.Journal.change_marker`): live views poll it and reload on change."""
        return await self.journal.change_marker()

    async def count_findings(
        self, tenant_id: str, *, run_id: int | None = None, severity: str | None = None
    ) -> int:
        """How many findings :meth:`findings` has in all for the same run and severity."""
        await self._served(tenant_id, "count_findings")
        _known("severity", severity, SEVERITIES)
        rid = await self._findings_run(tenant_id, run_id)
        if rid is None:
            return 0
        counts = await self.journal.finding_counts(rid)
        return counts.get(severity, 0) if severity is not None else sum(counts.values())

    async def _findings_run(self, tenant_id: str, run_id: int | None) -> int | None:
        """The run whose findings to show: the one named, if it is the tenant's (a run of
        another tenant is not found), else the tenant's last read."""
        if run_id is None:
            return await self.journal.last_read_run(tenant_id)
        if (await self._run_record(run_id)).tenant != tenant_id:
            raise NotFound(f"no run {run_id} of tenant {tenant_id}")
        return run_id

    async def failure_causes(self, tenant_id: str) -> list[FailureCause]:
        """A tenant's open failures grouped by cause, the largest group first; uncapped."""
        await self._served(tenant_id, "failure_causes")
        groups: dict[tuple[str, str, str, str, str], list[OperationView]] = {}
        offset, page = 0, 1000
        while True:
            rows = await self.journal.open_trouble(tenant_id, limit=page, offset=offset)
            for r in rows:
                v = self._op_view(r)
                groups.setdefault((v.target, v.action, v.kind, v.status, v.reason), []).append(v)
            if len(rows) < page:
                break
            offset += page
        causes = [
            FailureCause(
                tenant_id,
                *key,
                count=len(items),
                item_ids=tuple(sorted(o.id for o in items)),
                example=next((o.last_error for o in items if o.last_error), ""),
            )
            for key, items in groups.items()
        ]
        return sorted(causes, key=lambda c: (-c.count, c.key))

    async def cause_items(self, tenant_id: str, cause: str) -> tuple[int, ...]:
        """The open failures of one cause (its ``key``); an unknown cause is an error."""
        causes = {c.key: c for c in await self.failure_causes(tenant_id)}
        if cause not in causes:
            known = ", ".join(causes) or "none: no open failures"
            raise NotFound(f"no open failures of cause {cause!r} in {tenant_id}; causes: {known}")
        return causes[cause].item_ids

    async def open_failures(self, run_id: int) -> list[OperationView]:
        """Every open failure of a run, uncapped: what "retry the run" would try again. Items a
        later run (a retry of some of them) or a skip replaced are not among them."""
        await self._run_record(run_id)
        return [self._op_view(r) for r in await self._open_records(run_id)]

    async def operation(self, op_id: int) -> OperationDetail:
        r = await self.journal.get_operation(op_id)
        if r is None:
            raise NotFound(_NOT_FOUND["item"].format(what=op_id))
        if not self.scope.allows(r.tenant):
            raise await self._hidden("item", r.tenant, str(op_id))
        (view,) = await self._op_views([r])
        hidden = view.label != (r.op.label or r.op.key) and view.label.startswith(PROTECTED_LABEL)
        attempts = tuple(
            Attempt(
                a.number,
                a.at,
                a.outcome,
                a.reason,
                HIDDEN_ERROR if hidden else a.message,
                a.request_id,
            )
            for a in await self.journal.attempts_of(op_id)
        )
        record_type, record_key = self._record_of(r)
        idx = await self.journal.index_record(r.tenant, record_type, record_key)
        desired = _attrs_dict(r.op.attrs)
        return OperationDetail(
            operation=view,
            attempts=attempts,
            desired=masked_attrs(desired) if hidden else desired,
            source_record=idx.body if idx else None,
            record_type=record_type,
            record_key=record_key,
        )

    async def failures(
        self, tenant_id: str | None = None, *, limit: int = 200, offset: int = 0
    ) -> list[OperationView]:
        if tenant_id is not None:
            await self._served(tenant_id, "failures")
        if tenant_id is not None or not self.scope.limited:
            rows = await self.journal.open_trouble(tenant_id, limit=limit, offset=offset)
        else:  # the journal orders them by tenant first: each served tenant's, in that order
            rows = []
            for tid in sorted(self._served_ids()):
                rows += await self.journal.open_trouble(tid, limit=offset + limit)
            rows = rows[offset : offset + limit]
        return await self._op_views(rows)

    async def findings(
        self,
        tenant_id: str,
        *,
        run_id: int | None = None,
        severity: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[FindingView]:
        await self._served(tenant_id, "findings")
        _known("severity", severity, SEVERITIES)
        rid = await self._findings_run(tenant_id, run_id)
        if rid is None:
            return []
        rows = await self.journal.list_findings(rid, severity=severity, limit=limit, offset=offset)
        masked, hide = await self._masked(tenant_id), await self._event_masker(tenant_id)
        return [_finding_view(f, masked, hide) for f in rows]

    async def held_plans(self, tenant_id: str | None = None) -> list[HeldPlanView]:
        if tenant_id is not None:
            await self._in_scope(tenant_id, "held_plans")
        if tenant_id is not None or not self.scope.limited:
            rows = await self.journal.list_runs(tenant_id, statuses=["held"], limit=200)
        else:
            rows = [
                r
                for tid in self._served_ids()
                for r in await self.journal.list_runs(tid, statuses=["held"], limit=200)
            ]
            rows = sorted(rows, key=lambda r: -r.id)[:200]  # newest first, as for all at once
        out = []
        for r in rows:
            ops = [o.op for o in await self.journal.list_operations(r.id, limit=2000)]
            examples = tuple(
                f"{o.action.value} {o.kind} {o.label or o.key}" for o in ops if o.action in REMOVALS
            )[:8]
            out.append(
                HeldPlanView(
                    run_id=r.id,
                    tenant=r.tenant,
                    held_at=r.finished_at or r.started_at,
                    reasons=tuple(r.guard.get("reasons", ())),
                    would_remove=r.guard.get("removals", {}),
                    examples=examples,
                    total_operations=int(r.counts.get("planned", len(ops))),
                )
            )
        return out

    async def events(
        self,
        run_id: int,
        *,
        after_id: int = 0,
        level: str | None = None,
        contains: str | None = None,
        limit: int = 500,
    ) -> list[EventView]:
        run = await self._run_record(run_id)
        _known("level", level, LEVELS)
        hide = await self._event_masker(run.tenant)
        if contains and hide(contains) != contains:
            return []  # a search by a protected person's real name finds nothing
        rows = await self.journal.list_events(
            run_id, after_id=after_id, level=level, contains=contains, limit=limit
        )
        return [_event_view(e, hide) for e in rows]

    async def search(
        self, query: str, *, tenant_id: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        q = query.strip()
        if len(q) < 2:
            raise OpsError("search for at least two characters of a name, email or id")
        if q.isdigit() and len(q) >= 10:
            raise OpsError(
                "search by personnummer is not offered: personnummer never leave "
                "ESS; search by name, eduPersonPrincipalName, email or id"
            )
        if tenant_id is not None:
            await self._in_scope(tenant_id, "search")
        elif self.scope.limited:
            hits: list[SearchHit] = []
            for tid in self._served_ids():
                hits += await self.search(q, tenant_id=tid, limit=limit - len(hits))
                if len(hits) >= limit:
                    break
            return hits
        # what the target knows it by first (its object id, the sign-in name it was given),
        # then the source's names and ids
        rows = await self.journal.search_mirror(q, tenant_id, limit)
        seen = {(r.tenant, r.key) for r in rows}
        rows += [
            r
            for r in await self.journal.search_index(q, tenant_id, limit)
            if (r.tenant, r.key) not in seen
        ][: max(0, limit - len(rows))]
        out = []
        for r in rows:
            mirror = await self.journal.mirror_for_key(r.tenant, r.key)
            out.append(
                SearchHit(
                    tenant=r.tenant,
                    record_type=r.record_type,  # type: ignore[arg-type]
                    key=r.key,
                    label=r.label,
                    detail=r.detail,
                    targets={f"{m.target}:{m.kind}": m.target_id for m in mirror},
                )
            )
        return out

    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        tenant = await self._served(tenant_id, "explain")
        idx = await self.journal.index_record(tenant_id, record_type, key)
        source_record = idx.body if idx else None
        label = idx.label if idx else key
        read_run = await self.journal.last_read_run(tenant_id)
        masked_now, hide_text = await self._masked(tenant_id), await self._event_masker(tenant_id)
        findings = tuple(
            _finding_view(f, masked_now, hide_text)
            for f in (await self.journal.list_findings(read_run, record_id=key) if read_run else [])
        )
        desired: dict[str, dict[str, Any]] = {}
        observed: dict[str, dict[str, Any]] = {}
        masked = await self._masked(tenant_id)
        hidden = record_type == "person" and key in masked

        def hide(attrs: dict[str, Any]) -> dict[str, Any]:
            return masked_attrs(attrs) if hidden else attrs

        for m in await self.journal.mirror_for_key(tenant_id, key):
            observed.setdefault(m.target, {})[m.kind] = {
                "target_id": m.target_id,
                "attrs": hide(_attrs_dict(m.attrs)),
                "suspended_at": m.suspended_at.isoformat() if m.suspended_at else None,
                "archived": m.archived,
                # the mirror is what ESS last wrote or read, not a live read of the service
                "as_of": m.updated_at.isoformat(),
            }
        records = await self.journal.operations_for_record(tenant_id, key)
        ops = [self._op_view(r, masked) for r in records]
        for r in records:
            op = r.op
            if op.action in _MAKES and op.parent is None and op.attrs:
                desired.setdefault(op.target, {}).setdefault(op.kind, hide(_attrs_dict(op.attrs)))
        if idx is None and not findings and not observed and not records:
            raise NotFound(
                f"no {record_type} {key!r} in {tenant_id}: not in the source's last read, in "
                "any target or in any plan; `ess search NAME` finds a record's id"
            )
        summary = _explain_summary(
            record_type, label, source_record, findings, observed, ops, list(tenant.targets)
        )
        return Explanation(
            tenant=tenant_id,
            record_type=record_type,
            key=key,
            label=label,
            source_record=source_record,
            findings=findings,
            desired=desired,
            observed=observed,
            operations=tuple(ops[:50]),
            summary=summary,
        )

    async def person_export(self, tenant_id: str, key: str) -> PersonExport:
        """Everything ESS holds about one person (a data subject's request). ``key`` is their
        source id, an account name or e-mail address, or their personnummer, which is matched
        through its keyed hash and neither stored nor written to the audit."""
        await self._served(tenant_id, "person_export")
        pid, found_by = await self._person_key(tenant_id, key)
        body = await self.journal.source_record(tenant_id, "persons", pid)
        cached: dict[str, Any] | None = None
        if body is not None:
            doc = orjson.loads(body)
            cached = doc if isinstance(doc, dict) else {"record": doc}
            if isinstance(cached.get("civicNo"), dict):
                cached["civicNo"] = {"value": "(kept only as a keyed hash, never shown)"}
        explanation = await self.explain(tenant_id, "person", pid)
        audit = tuple(a for a in await self.audit(tenant_id, limit=10_000) if pid in a.detail)
        await self.journal.add_audit(
            self.actor, "person_export", tenant_id, True, f"person {pid} (found by {found_by})"
        )
        return PersonExport(tenant_id, pid, found_by, cached, explanation, audit)

    async def password_reset(
        self, tenant_id: str, key: str, *, show: bool = False
    ) -> PasswordReset:
        """Give one person's accounts new initial passwords (changed at first sign-in) and hand
        them over like a run's (engine.hand_over): for a list that was lost, or an account
        created while the hand-over failed. Only a tenant with ``first_sign_in = "passwords"``
        has someone to hand them to. A write action: the tier's policy applies; audited.

        ``show``: the passwords come back to be shown once on the caller's terminal instead of
        a file, only to an engineer whose own OS account (never root, never a name typed on
        the command line) is in ``hand_over.show_to``, and only from the CLI."""
        tenant = await self._served(tenant_id, "password_reset")
        if tenant.first_sign_in != "passwords":
            raise ConfigurationError(
                f'{tenant_id} has first_sign_in = "{tenant.first_sign_in}": ESS hands over no '
                'passwords there; set first_sign_in = "passwords" and [hand_over] first'
            )
        pid, _ = await self._person_key(tenant_id, key)
        accounts = [
            m
            for m in await self.journal.mirror_for_key(tenant_id, pid)
            if m.kind == "user" and m.target_id and m.target in tenant.targets
        ]
        if not accounts:
            raise NotFound(f"no account of {pid} in {tenant_id}'s targets")
        ref = person_ref(tenant_id, pid)
        if show:
            name, shared = os_user()
            allowed = tenant.hand_over is not None and name in tenant.hand_over.show_to
            if shared or not allowed or not self.actor.startswith("cli:"):
                why = (
                    "a shared account (root) sees no password"
                    if shared
                    else f"the OS account {name} is not in hand_over.show_to, or not on the CLI"
                )
                await self.journal.add_audit(
                    self.actor, "password_reset", tenant_id, False, f"person {ref} --show: {why}"
                )
                raise PolicyRefused(f"a password is shown only to an engineer allowed: {why}")
        await self._guarded(
            "password_reset", tenant_id, f"person {ref}" + (" --show" if show else "")
        )
        passwords = InitialPasswords("passwords")
        problems: list[str] = []
        for row in accounts:
            target = runner.build_target(self.cfg, tenant_id, tenant, row.target)
            try:
                initial = passwords.initial()
                problem = await target.set_password(str(row.target_id), initial)
            finally:
                await target.aclose()
            attrs = dict(row.attrs)
            account = str(
                attrs.get("userPrincipalName") or attrs.get("primaryEmail") or row.target_id
            )
            if problem:
                problems.append(f"{row.target}: {account}: {problem}")
            else:
                passwords.created(row.target, pid, row.label or pid, account, initial)
        done = [(i.target, i.account) for i in passwords.issued()]
        if show:
            issued = tuple(passwords.issued())
            passwords.clear()
            if issued:
                await self.journal.add_audit(
                    self.actor,
                    "password.shown",
                    tenant_id,
                    True,
                    f"reset of person {ref}: {len(issued)} initial password(s) shown once "
                    f"on screen to {self.actor}",
                )
            return PasswordReset(tenant_id, tuple(done), (), tuple(problems), issued)
        handed = await hand_over(
            self.journal,
            tenant=tenant_id,
            run_id=None,
            actor=self.actor,
            passwords=passwords,
            class_of={},
            config=tenant.hand_over,
            folder=runner.SignIn.of(self.cfg, tenant, self.actor).folder(),
            emit=lambda level, text: problems.append(text) if level == "error" else None,
        )
        return PasswordReset(
            tenant_id,
            tuple(done) if handed else (),
            tuple(f for h in handed for f in h.files),
            tuple(problems),
        )

    async def person_forget(self, tenant_id: str, key: str) -> PersonForgotten:
        """Remove what the journal holds about one person where the law allows: once the
        source no longer lists them, no target holds their account and no item for them is
        open (until then ESS needs it, and refuses). Audit rows naming them become tombstones,
        so ``ess audit verify`` still passes; the request itself is audited under a reference
        that does not name them. Targets are not touched."""
        tenant = await self._served(tenant_id, "person_forget")
        try:
            pid, found_by = await self._person_key(tenant_id, key)
        except NotFound:
            if looks_like(key) or PERSONNUMMER.fullmatch(key.strip()):
                raise
            pid, found_by = key.strip(), "source id"  # gone from the index: the id as given
        ref = person_ref(tenant_id, pid)
        if self.read_only:
            await self.journal.add_audit(
                self.actor, "person_forget", tenant_id, False, f"person {ref}: read-only mode"
            )
            raise PolicyRefused("read-only mode")
        names = (await self.journal.person_names(tenant_id, [pid]))[pid]
        caches = await plan_cache_forget(self.journal, tenant_id, tenant, pid)
        gone = Forgotten(held=caches.held) if caches.held else None
        if gone is None:
            gone = await self.journal.forget_person(tenant_id, pid, names)
        if gone.held:
            await self.journal.add_audit(
                self.actor, "person_forget", tenant_id, False, f"person {ref}: {gone.held}"
            )
            raise PolicyRefused(
                f"ESS still needs what it holds about {pid}: {gone.held}. A person is forgotten "
                "once the source no longer lists them and the targets' accounts are removed "
                "(after the tenant's grace period)"
            )
        cached = await write_cache_forget(self.journal, caches)
        if not gone.total and not cached:
            raise NotFound(f"ESS holds nothing about {key.strip()!r} in {tenant_id}")
        removed = {
            "source cache documents rewritten": cached,
            "operations": gone.operations,
            "attempts": gone.attempts,
            "findings": gone.findings,
            "skips": gone.skips,
            "run log lines": gone.events,
            "search index rows": gone.index_rows,
            "audit rows made tombstones": gone.audit_rows,
        }
        await self.journal.add_audit(
            self.actor,
            "person_forget",
            tenant_id,
            True,
            f"person {ref}: " + ", ".join(f"{n} {what}" for what, n in removed.items() if n),
        )
        return PersonForgotten(tenant_id, ref, found_by, removed)

    async def _person_key(self, tenant_id: str, key: str) -> tuple[str, str]:
        key = key.strip()
        if not key:
            raise OpsError("name the person: a source id, an account name or a personnummer")
        if looks_like(key) or PERSONNUMMER.fullmatch(key):
            try:
                civic_hash = self.cfg.civic_hash()
            except SecretError as exc:
                raise ConfigurationError(f"privacy.civic_key: {exc}") from None
            hashed = civic_hash(key)
            if hashed is None or not is_hashed(hashed) or hashed == KEPT_WRONG_CHECK:
                raise ConfigurationError(
                    "without [privacy] civic_key ESS keeps no personnummer, so none can be "
                    "looked up; use the source id or the account name"
                )
            ids = await self.journal.source_records_holding(tenant_id, "persons", hashed)
            if len(ids) != 1:
                raise NotFound(
                    f"no one in {tenant_id} with that personnummer"
                    if not ids
                    else f"{len(ids)} persons in {tenant_id} share that personnummer"
                )
            return ids[0], "personnummer (matched by its keyed hash)"
        if (
            await self.journal.index_record(tenant_id, "person", key)
            or await self.journal.mirror_for_key(tenant_id, key)
            or await self.journal.source_record(tenant_id, "persons", key)
        ):
            return key, "source id"
        hits = [
            h
            for h in await self.journal.search_index(key.lower(), tenant_id, 5)
            if h.record_type == "person"
        ]
        if len(hits) == 1:
            return hits[0].key, "account name or e-mail address"
        if hits:
            raise OpsError(f"{len(hits)} persons match {key!r}; give the source id")
        raise NotFound(f"no person {key!r} in {tenant_id}")

    async def elevations(self, tenant_id: str | None = None) -> list[ElevationView]:
        if tenant_id is not None:
            await self._in_scope(tenant_id, "elevations")
        if tenant_id is not None or not self.scope.limited:
            found = await self.journal.list_elevations(tenant_id)
        else:
            found = [r for t in self._served_ids() for r in await self.journal.list_elevations(t)]
            found.sort(key=lambda r: -r.id)  # newest first, as for every tenant at once
        now = datetime.now(UTC)
        return [elevation_view(r, now) for r in await self._signed(found)]

    async def audit(self, tenant_id: str | None = None, *, limit: int = 200) -> list[AuditView]:
        if tenant_id is not None:
            await self._served(tenant_id, "audit")  # an unknown tenant: a mistake, not an empty log
        if tenant_id is not None or not self.scope.limited:
            rows = await self.journal.list_audit(tenant_id, limit)
        else:  # the served tenants' rows; the installation's own (tenant None) are not theirs
            rows = [a for t in self._served_ids() for a in await self.journal.list_audit(t, limit)]
            rows = sorted(rows, key=lambda a: -a.id)[:limit]
        return [
            AuditView(a.id, a.at, a.actor, a.action, a.tenant, a.allowed, a.detail) for a in rows
        ]

    async def audit_head(self) -> AuditHead | None:
        """The audit log's head (newest row id and hash), to keep outside the host."""
        return await self.journal.audit_head()

    async def verify_audit(self, known: AuditHead | None = None) -> ChainVerdict:
        """Check the audit log's hash chain, and that ``known`` (a head seen outside the host)
        is still in it unchanged. Audited, with the verdict."""
        links: list[AuditLink] = []
        after = 0
        while page := await self.journal.audit_chain(after, _AUDIT_PAGE):
            links.extend(page)
            after = page[-1].id
        verdict = verify_chain(links, known)
        detail = f"{verdict.checked} rows" + (f" against head {known.id}" if known else "")
        await self.journal.add_audit(
            self.actor,
            "audit_verify",
            None,
            True,
            detail + ("" if verdict.ok else f"; broken: {verdict.problem}"),
        )
        return verdict

    async def can(self, action: WriteAction, tenant_id: str) -> Decision:
        tenant = await self._served(tenant_id, "can")
        return decide(
            read_only=self.read_only, tier=tenant.tier, elevations=await self._elevations(tenant_id)
        )

    async def source_check(self, tenant_id: str, *, full: bool = False) -> SourceCheck:
        """Read every source of the tenant (merged when several) and judge the snapshot as a
        run would; stores nothing."""
        tenant = await self._served(tenant_id, "source_check")
        await self.journal.add_audit(
            self.actor, "source_check", tenant_id, True, "full read" if full else "read"
        )
        try:
            sources = await runner.build_sources(self.cfg, tenant_id, tenant)
        except runner.AdapterConfigError as exc:
            raise ConfigurationError(str(exc)) from None
        today = datetime.now(UTC).date()

        def context(key: str) -> SourceContext:
            scope = runner.cache_scope(tenant_id, key)
            return SourceContext(
                tenant=tenant_id,
                cache=_ReadOnlyCache(self.journal.source_cache(scope)),
                today=today,
                agent_uploads=JournalUploads(self.journal),
            )

        try:
            aliases = await self.journal.source_aliases(tenant_id)
            read = await runner.read_sources(
                sources, tenant, context, full=full, today=today, aliases=aliases
            )
        except SourceError as exc:
            raise Unreachable(f"the source of {tenant_id} could not be read: {exc}") from None
        finally:
            await runner.close_sources(sources)
        snap, findings = check_read(
            read.snapshot, read.findings, _field_limits(tenant), runner.source_rules(sources)
        )
        shown = shortened(snap)
        labels = {
            p.id: p.display_name if not p.is_protected else "Skyddad identitet"
            for p in shown.persons.values()
        }
        labels.update({g.id: g.name for g in shown.groups.values()})
        views = tuple(
            FindingView(
                0,
                0,
                tenant_id,
                f.code,
                f.severity.value,
                f.record_type,
                f.record_id,
                labels.get(f.record_id, ""),
                f.message,
                f.fix,
            )
            for f in findings
        )
        stats = dict(read.stats)
        if len(sources) > 1:
            stats.update(
                {
                    f"{key}.{what}": n
                    for key, part in read.counts.items()
                    for what, n in part.items()
                }
            )
        return SourceCheck(
            tenant=tenant_id,
            mode=read.mode,
            counts=read.snapshot.counts(),
            findings=views,
            stats=stats,
        )

    async def source_rekey(self, tenant_id: str, *, dry_run: bool = False) -> RekeyReport:
        """``ess source rekey``: match the old source's records to the new source's and move
        the journal's ids (see :mod:`engine.rekey`); audited, a dry run too."""
        tenant = await self._served(tenant_id, "source_rekey")
        if tenant.rekey is None:
            raise ConfigurationError(
                f"tenant {tenant_id} has no [tenants.{tenant_id}.rekey] table: name the source "
                f'it moves from there (from = {{ type = "ims", path = "..." }}); see '
                "docs/sources/several-and-rekey.md"
            )
        what = "rekey dry run" if dry_run else "rekey"
        await self._guarded("source_rekey", tenant_id, what, dry_run=dry_run)
        try:
            outcome = await rekey.rekey(
                self.journal, self.cfg, tenant_id, tenant, actor=self.actor, dry_run=dry_run
            )
        except rekey.RekeyError as exc:
            await self.journal.add_audit(self.actor, "source_rekey", tenant_id, False, str(exc))
            raise OpsError(str(exc)) from None
        except SourceError as exc:
            raise Unreachable(f"a source of {tenant_id} could not be read: {exc}") from None
        except SecretError as exc:
            raise ConfigurationError(f"privacy.civic_key: {exc}") from None
        except JournalError as exc:
            await self.journal.add_audit(self.actor, "source_rekey", tenant_id, False, str(exc))
            raise OpsError(str(exc)) from None
        except runner.RunError as exc:
            raise (
                ConfigurationError(str(exc))
                if isinstance(exc, runner.AdapterConfigError)
                else Busy(str(exc))
                if isinstance(exc, runner.TenantBusy)
                else OpsError(str(exc))
            ) from None
        m = outcome.mapping
        report = RekeyReport(
            tenant=tenant_id,
            dry_run=dry_run,
            old_counts=dict(outcome.old_counts),
            new_counts=dict(outcome.new_counts),
            matched=dict(m.matched),
            moving={t: len(ids) for t, ids in m.ids.items()},
            new_only=dict(m.new_only),
            unmatched=tuple(
                RekeyRecord(u.record_type, u.old_id, u.label, u.reason, f.message, f.fix)
                for u in m.unmatched
                for f in (u.finding(),)
            ),
            moved=dict(outcome.moved),
        )
        summary = (
            "; ".join(
                f"{t}: {report.matched[t]} matched, {report.moving[t]} moving"
                for t in rekey.RECORD_TYPES
            )
            + f"; {len(report.unmatched)} held"
        )
        if not dry_run:
            await self.journal.add_audit(
                self.actor,
                "source_rekey",
                tenant_id,
                True,
                f"rekey applied: {summary}; rows moved: "
                + ", ".join(f"{n} {t}" for t, n in report.moved.items()),
            )
        return report

    async def agents(self, tenant_id: str | None = None) -> list[AgentStatusView]:
        """The on-site agents of hosted tenants (``type = "agent"`` sources): who uploaded
        last, when, with which ESS version, and whether the upload is too old to run from."""
        if tenant_id is not None:
            await self._served(tenant_id, "agents")
        found = await agent_statuses(self.cfg, tenant_id, self.journal)
        return [a for a in found if self.scope.allows(a.tenant)]

    async def source_holds(self, tenant_id: str) -> list[SourceHoldView]:
        """The records no run removes until they are released (left by ``source rekey``)."""
        await self._served(tenant_id, "source_holds")
        return [
            SourceHoldView(h.record_type, h.key, h.reason, h.held_at, h.actor)
            for h in await self.journal.source_holds(tenant_id)
        ]

    async def source_release(
        self, tenant_id: str, keys: Sequence[tuple[str, str]] | None
    ) -> CommandResult:
        """Release holds (record type, key), or all with None: the next run retires what
        the source no longer lists."""
        named = "all" if keys is None else ", ".join(f"{t}:{k}" for t, k in keys)
        await self._guarded("source_release", tenant_id, f"release holds: {named}")
        released = await self.journal.release_holds(tenant_id, keys)
        return CommandResult(
            ok=keys is None or released == len(keys),
            message=f"released {released} hold(s) of {tenant_id}",
            affected=released,
        )

    async def target_check(self, tenant_id: str, target: str | None = None) -> list[TargetCheck]:
        """Sign in to each target (or the one named by its table key) and compare what the
        service granted with what the configuration needs; reads only. Audited."""
        tenant = await self._served(tenant_id, "target_check")
        try:
            names = runner.chosen_targets(tenant, [target] if target else None)
        except runner.RunError as exc:
            raise NotFound(str(exc)) from None
        checks = [await self._target_check(tenant_id, tenant, name) for name in names]
        missing = sum(c.missing for c in checks)
        await self.journal.add_audit(
            self.actor,
            "target_check",
            tenant_id,
            True,
            f"{', '.join(names)}: {missing} missing" if names else "no targets",
        )
        return checks

    async def _target_check(self, tenant_id: str, tenant: TenantConfig, name: str) -> TargetCheck:
        kind = tenant.target_type(name)
        try:
            built = runner.build_target(self.cfg, tenant_id, tenant, name)
        except runner.AdapterConfigError as exc:
            item = CheckItemView("configuration", "missing", "", str(exc))
            return TargetCheck(tenant_id, name, kind, (item,))
        try:
            results = await built.check()
        finally:
            await built.aclose()
        items = tuple(CheckItemView(r.item, r.status.value, r.detail, r.fix) for r in results)
        if any(k.name == "user" for k in built.kinds):  # a target that makes accounts
            folder = runner.SignIn.of(self.cfg, tenant, self.actor).folder()
            status, detail, fix = check_first_sign_in(
                tenant.first_sign_in, tenant.hand_over, folder
            )
            items += (CheckItemView("first sign-in", status, detail, fix),)
        return TargetCheck(tenant_id, name, kind, items)

    # ------------------------------------------------------------------ commands
    async def sync(
        self,
        tenant_id: str,
        *,
        dry_run: bool = False,
        targets: Sequence[str] | None = None,
        full: bool = False,
        trigger: str = "manual",
        progress: ProgressFn | None = None,
        lease_s: float | None = None,
    ) -> RunSummary:
        """A run of the tenant. ``lease_s``: the run's lease, renewed by its heartbeat (a
        hosted worker's is short, so that another machine resumes a dead worker's run soon)."""
        what = ("dry run" if dry_run else "sync") + (f" of {', '.join(targets)}" if targets else "")
        tenant = await self._served(tenant_id, "sync")
        unknown = [t for t in targets or () if t not in tenant.targets]
        if unknown:  # bad input: refused and audited as such before anything starts
            problem = (
                f"unknown target(s) {', '.join(unknown)}; tenant {tenant_id} has "
                f"{', '.join(tenant.targets) or 'none'}"
            )
            await self.journal.add_audit(
                self.actor, "sync", tenant_id, False, f"{what} — refused: {problem}"
            )
            raise NotFound(problem)
        await self._guarded("sync", tenant_id, what, dry_run=dry_run)
        opts = self._opts(
            tenant_id, trigger, dry_run=dry_run, targets=targets, full=full, progress=progress
        )
        if lease_s is not None:
            opts.lease_ttl = lease_s
            opts.lease_journal = lambda: open_configured(self.cfg)
        run_id = await _mapped(runner.sync(self.journal, self.cfg, tenant_id, opts))
        if not dry_run:
            await self.apply_retention()
        return self._summary(await self._run_record(run_id))

    async def apply_retention(self, now: datetime | None = None) -> Pruned:
        """Remove what is past its keeping time (``[privacy] history_days``, ``audit_days``);
        run after every sync. What it removed is audited."""
        privacy = self.cfg.config.privacy
        now = now or datetime.now(UTC)
        pruned = await self.journal.prune(
            now - timedelta(days=privacy.history_days), now - timedelta(days=privacy.audit_days)
        )
        if pruned.events or pruned.attempts or pruned.audit_rows:
            await self.journal.add_audit(
                self.actor,
                "retention",
                None,
                True,
                f"removed {pruned.events} run log events and {pruned.attempts} attempts older "
                f"than {privacy.history_days} days; {pruned.audit_rows} audit rows older than "
                f"{privacy.audit_days} days made tombstones",
            )
        return pruned

    async def _items(self, op_ids: Sequence[int], action: str) -> list[OperationRecord]:
        """The items that exist and that the actor serves; another tenant's are audited and
        then left out, so that they read as "no such item"."""
        rows = await self.journal.get_operations(list(op_ids))
        for r in rows:
            if not self.scope.allows(r.tenant):
                await self._refused_scope(action, r.tenant, f"item {r.op.id}")
        return [r for r in rows if self.scope.allows(r.tenant)]

    async def retry(self, op_ids: Sequence[int]) -> CommandResult:
        rows = await self._items(op_ids, "retry")
        missing = set(op_ids) - {r.op.id for r in rows}
        if missing:
            raise NotFound(f"no item(s) {', '.join(map(str, sorted(missing)))}")
        tenants = {r.tenant for r in rows}
        if len(tenants) != 1:
            raise OpsError("retry items of one tenant at a time")
        tenant_id = tenants.pop()
        not_open = [r.op.id for r in rows if r.status not in TROUBLE_STATUSES or r.superseded]
        if not_open:
            raise OpsError(
                f"item(s) {', '.join(map(str, not_open))} are not open failures "
                "(done, skipped, or replaced by a later run)"
            )
        await self._guarded(
            "retry",
            tenant_id,
            f"retry {len(rows)} item(s): " + ", ".join(str(r.op.id) for r in rows[:20]),
        )
        opts = self._opts(tenant_id, "retry")
        run_id = await _mapped(runner.retry_items(self.journal, self.cfg, tenant_id, rows, opts))
        summary = self._summary(await self._run_record(run_id))
        done = summary.counts.get("done", 0)
        return CommandResult(
            ok=summary.status == "succeeded",
            message=f"run {run_id}: {done} of {summary.counts.get('planned', 0)}"
            f" item(s) done ({summary.status})",
            affected=done,
            run_id=run_id,
        )

    async def retry_run(self, run_id: int) -> CommandResult:
        """Retry every open failure of a run, however many of them were retried or skipped
        one by one before; a run with none left says so, and what replaced them."""
        run = await self._run_record(run_id)
        rows = await self._open_records(run_id)
        if not rows:
            return CommandResult(
                ok=True,
                message=f"run {run_id} of {run.tenant} has no open failed items: each was "
                "done, retried in a later run, skipped or replaced by a later plan",
            )
        return await self.retry([r.op.id for r in rows])

    async def skip(self, op_ids: Sequence[int], *, reason: str) -> CommandResult:
        if not reason.strip():
            raise OpsError("say why the items are skipped (--reason)")
        rows = await self._items(op_ids, "skip")
        if len(rows) != len(set(op_ids)):
            raise NotFound("some of those items do not exist")
        for tenant_id in sorted({r.tenant for r in rows}):
            mine = [r.op for r in rows if r.tenant == tenant_id]
            await self._guarded("skip", tenant_id, f"skip {len(mine)} item(s): {reason}")
            await self.journal.add_skips(tenant_id, mine, self.actor, reason)
        await self.journal.set_status(
            [r.op.id for r in rows], OpStatus.SKIPPED, f"skipped by {self.actor}: {reason}"
        )
        return CommandResult(
            True,
            f"skipped {len(rows)} item(s) until their source record changes",
            affected=len(rows),
        )

    async def approve(
        self, run_id: int, *, reason: str = "", progress: ProgressFn | None = None
    ) -> RunSummary:
        run = await self._run_record(run_id)
        if run.status != "held":
            raise OpsError(f"run {run_id} is {run.status}, not held for approval")
        tenant_id = run.tenant
        await self._guarded("approve", tenant_id, f"approve held run {run_id}: {reason}")
        await self.journal.add_approval(run_id, "approved", self.actor, reason)
        opts = self._opts(tenant_id, "approve", progress=progress)
        await _mapped(runner.apply_held(self.journal, self.cfg, tenant_id, run_id, opts))
        return self._summary(await self._run_record(run_id))

    async def reject(self, run_id: int, *, reason: str = "") -> CommandResult:
        run = await self._run_record(run_id)
        if run.status != "held":
            raise OpsError(f"run {run_id} is {run.status}, not held for approval")
        await self._guarded("reject", run.tenant, f"reject held run {run_id}: {reason}")
        await self.journal.add_approval(run_id, "rejected", self.actor, reason)
        ops = await self.journal.list_operations(run_id, status="pending", limit=10**9)
        await self.journal.set_status(
            [o.op.id for o in ops], OpStatus.CANCELLED, f"plan rejected by {self.actor}"
        )
        await self.journal.update_run(
            run_id, status="rejected", error=f"rejected by {self.actor}: {reason}".strip(": ")
        )
        return CommandResult(
            True, f"run {run_id} rejected; nothing was applied", affected=len(ops), run_id=run_id
        )

    async def elevate(self, tenant_id: str, *, reason: str, minutes: int = 60) -> ElevationView:
        tenant = await self._served(tenant_id, "elevate")
        if not reason.strip():
            raise OpsError("an elevation needs a reason (--reason)")
        if not 1 <= minutes <= 8 * 60:
            raise OpsError("an elevation lasts between 1 and 480 minutes")
        await self._guarded("elevate", tenant_id, f"elevate for {minutes} min: {reason}")
        expires = datetime.now(UTC) + timedelta(minutes=minutes)
        eid = await self.journal.add_elevation(
            tenant_id, self.actor, reason, expires, needs_approval=tenant.tier == "gold"
        )
        return elevation_view(await self._elevation(eid))

    async def _elevation(self, elevation_id: int) -> ElevationRecord:
        row = await self.journal.get_elevation(elevation_id)
        if row is None:
            raise NotFound(_NOT_FOUND["elevation"].format(what=elevation_id))
        if not self.scope.allows(row.tenant):
            raise await self._hidden("elevation", row.tenant, str(elevation_id))
        return row

    async def elevation_challenge(self, elevation_id: int) -> str:
        """The text a gold tenant's approver signs to approve this elevation."""
        return approval.challenge(_facts(await self._elevation(elevation_id)))

    async def approve_elevation(
        self, elevation_id: int, *, approver: str, signature: str
    ) -> ElevationView:
        """Approve a gold elevation with the customer approver's signature of its challenge,
        checked against the key enrolled for them (``add_approver``)."""
        row = await self._elevation(elevation_id)
        if not approver.strip():
            raise OpsError("name the customer's approver (--approver)")
        (checked,) = await self._signed([row])
        view = elevation_view(checked)
        if view.status != "pending_approval":
            raise OpsError(f"elevation {elevation_id} is {view.status}, not waiting for approval")
        refusal = ""
        if self.read_only:
            refusal = "read-only mode: this session may look but not change anything"
        else:
            keys = {k.name: k.public_key for k in await self.journal.approver_keys(row.tenant)}
            if approver not in keys:
                refusal = (
                    f"no key is enrolled for approver {approver!r} of tenant {row.tenant}; "
                    "an approval is the approver's own signature (`ess approver add`)"
                )
            elif not approval.verified(keys[approver], approval.challenge(_facts(row)), signature):
                refusal = (
                    f"the signature is not {approver}'s signature of elevation "
                    f"{elevation_id}'s challenge (`ess elevation challenge {elevation_id}`)"
                )
        if refusal:
            await self.journal.add_audit(
                self.actor, "approve_elevation", row.tenant, False, f"refused: {refusal}"
            )
            raise PolicyRefused(refusal)
        await self.journal.approve_elevation(elevation_id, approver, signature)
        await self.journal.add_audit(
            self.actor,
            "approve_elevation",
            row.tenant,
            True,
            f"elevation {elevation_id} approved by customer {approver} (signature verified)",
        )
        (done,) = await self._signed([await self._elevation(elevation_id)])
        return elevation_view(done)

    async def approvers(self, tenant_id: str | None = None) -> list[ApproverView]:
        if tenant_id is not None:
            await self._served(tenant_id, "approvers")
        return [
            ApproverView(k.tenant, k.name, k.public_key, k.enrolled_at, k.enrolled_by)
            for k in await self.journal.approver_keys(tenant_id)
            if self.scope.allows(k.tenant)
        ]

    async def add_approver(self, tenant_id: str, name: str, public_key: str) -> ApproverView:
        """Enrol a customer approver's Ed25519 public key. Audited: whoever enrols a key can
        approve with it, so the customer must learn of every enrolment."""
        await self._served(tenant_id, "add_approver")
        if not name.strip():
            raise OpsError("name the approver")
        try:
            key = approval.public_key_text(approval.public_key(public_key))
        except approval.ApprovalKeyError as exc:
            raise OpsError(f"the public key: {exc}") from None
        await self._approver_change(tenant_id, f"enrol approver {name} key {key}")
        await self.journal.add_approver_key(tenant_id, name, key, self.actor)
        await self._tell_customer(tenant_id, f"approver {name} enrolled with key {key}")
        (view,) = [a for a in await self.approvers(tenant_id) if a.name == name]
        return view

    async def remove_approver(self, tenant_id: str, name: str) -> None:
        await self._served(tenant_id, "remove_approver")
        if name not in {a.name for a in await self.approvers(tenant_id)}:
            raise NotFound(f"no approver {name!r} of tenant {tenant_id}")
        await self._approver_change(tenant_id, f"remove approver {name}")
        await self.journal.remove_approver_key(tenant_id, name)
        await self._tell_customer(tenant_id, f"approver {name} removed")

    async def _approver_change(self, tenant_id: str, detail: str) -> None:
        if self.read_only:
            await self.journal.add_audit(
                self.actor, "approver", tenant_id, False, f"{detail} — refused: read-only"
            )
            raise PolicyRefused("read-only mode: this session may look but not change anything")
        await self.journal.add_audit(self.actor, "approver", tenant_id, True, detail)

    async def _tell_customer(self, tenant_id: str, change: str) -> None:
        """An approver key change goes to the tenant's channels (``approver_changed``): whoever
        enrols a key can approve with it, so the customer must hear of it from outside."""
        await self.journal.add_notice(tenant_id, "approver_changed", f"{change} by {self.actor}")

    # ------------------------------------------------------------------ a tenant's rows
    def _tenant_rows_journal(self) -> SqliteJournal:
        if not isinstance(self.journal, SqliteJournal):  # both journals share these queries
            raise OpsError("this journal cannot export or delete a tenant's rows")
        return self.journal

    async def export_tenant(
        self, tenant_id: str, former_config: Path | None = None
    ) -> dict[str, Any]:
        """Every row the journal holds of one tenant (a configured one or one that left), as
        one JSON-ready document, with the files outside the journal that hold its data listed
        (found from its tables in ess.toml, or in ``former_config`` once it left). Audited: it
        holds the tenant's source records."""
        await self._in_scope(tenant_id, "tenant_export")
        files = self._tenant_files(tenant_id, former_config)
        document = await tenant_rows.export_tenant(self._tenant_rows_journal(), tenant_id)
        document["files"] = {
            "found": [str(p) for p in files.found],
            "not_reached": list(files.not_reached),
        }
        await self.journal.add_audit(self.actor, "tenant_export", tenant_id, True, "all rows")
        return document

    def _tenant_files(self, tenant_id: str, former_config: Path | None) -> TenantFiles:
        """Where the tenant's files are: from its tables in ess.toml, or in a former copy."""
        if former_config is None:
            tenant = self.cfg.config.tenants.get(tenant_id)
            if tenant is None:
                return TenantFiles((), (NOT_LOOKED_FOR.format(tenant=tenant_id),))
            return find_tenant_files(tenant_id, tenant, self.cfg.base_dir)
        try:
            former = load_config(former_config)
        except ConfigError as exc:
            raise ConfigurationError(f"--former-config {former_config}: {exc}") from None
        tenant = former.config.tenants.get(tenant_id)
        if tenant is None:
            raise ConfigurationError(
                f"{former_config} holds no [tenants.{tenant_id}]: name a copy of ess.toml from "
                "before the tenant was removed"
            )
        return find_tenant_files(tenant_id, tenant, former.base_dir)

    async def delete_tenant(
        self, tenant_id: str, former_config: Path | None = None
    ) -> tenant_rows.TenantDeleted:
        """Remove every row of a tenant that is no longer in ess.toml (its audit rows become
        tombstones), then its files outside the journal that ``former_config`` (a copy of
        ess.toml that still holds the tenant) points at; what cannot be reached is said.
        Refused read-only, for a configured tenant, and while it runs."""
        await self._in_scope(tenant_id, "tenant_delete")
        if self.read_only:
            await self.journal.add_audit(
                self.actor, "tenant_delete", tenant_id, False, "refused: read-only"
            )
            raise PolicyRefused("read-only mode: this session may look but not change anything")
        if tenant_id in self.cfg.config.tenants:
            raise OpsError(
                f"tenant {tenant_id} is still in {self.cfg.path}; remove [tenants.{tenant_id}] "
                "first, or its next run would start it again"
            )
        files = self._tenant_files(tenant_id, former_config)  # a bad copy stops it all first
        try:
            done = await tenant_rows.delete_tenant(
                self._tenant_rows_journal(), tenant_id, self.actor
            )
        except LeaseHeld as exc:
            raise Busy(str(exc)) from None
        removed, problems = await asyncio.to_thread(remove_tenant_files, files)
        if removed or problems:
            await self.journal.add_audit(
                self.actor,
                "tenant_deleted",
                None,  # the tenant's rows are gone; the row that records it names no tenant
                not problems,
                f"tenant {tenant_id}: {len(removed)} file(s) outside the journal removed"
                + (f"; {len(problems)} could not be" if problems else ""),
            )
        return replace(
            done,
            files_removed=tuple(removed),
            files_not_reached=(*problems, *files.not_reached),
        )

    # ------------------------------------------------------------------ notifications
    async def send_audit_head(self, now: datetime | None = None) -> list[str]:
        """Put the audit log's head in the outbox of every tenant with a channel that takes
        ``audit_head``, when the last was sent ``[privacy] audit_head_hours`` ago or more (the
        scheduler asks on every pass). Returns the tenants it was queued for."""
        head = await self.journal.audit_head()
        if head is None:
            return []
        now = now or datetime.now(UTC)
        every = timedelta(hours=self.cfg.config.privacy.audit_head_hours)
        queued = []
        for tid in self._served_ids():
            tenant = self.cfg.config.tenants[tid]
            if not any("audit_head" in c.events for c in tenant.notify):
                continue
            last = await self.journal.last_notice_at(tid, "audit_head")
            if last is not None and now - last < every:
                continue
            await self.journal.add_notice(tid, "audit_head", str(head))
            queued.append(tid)
        return queued

    async def send_credential_warnings(self, now: datetime | None = None) -> list[str]:
        """Ask each target of every tenant with a channel that takes ``credential_expiring``
        when its credentials run out, and queue one notice per credential that ends within the
        channel's ``expiry_days`` (or has ended), at most once a day per credential. Returns
        what was queued. Read-only towards the targets; a target that cannot be built or read
        is skipped (``ess target check`` says why)."""
        now = now or datetime.now(UTC)
        if self._credentials_asked and now - self._credentials_asked < CREDENTIALS_EVERY:
            return []  # the scheduler's courier asks every pass; the targets are read hourly
        self._credentials_asked = now
        queued: list[str] = []
        for tid in self._served_ids():
            tenant = self.cfg.config.tenants[tid]
            wanting = [c for c in tenant.notify if "credential_expiring" in c.events]
            if not wanting:
                continue
            ahead = timedelta(days=max(c.expiry_days for c in wanting))
            for name in tenant.targets:
                try:
                    built = runner.build_target(self.cfg, tid, tenant, name)
                except runner.AdapterConfigError:
                    continue
                try:
                    found = await built.expiries()
                except Exception:  # a warning that cannot be read must not stop the courier
                    found = ()
                finally:
                    await built.aclose()
                for e in found:
                    if e.expires_at - now > ahead:
                        continue
                    days = (e.expires_at - now).days
                    state = (
                        f"expired {e.expires_at:%Y-%m-%d}"
                        if days < 0
                        else f"expires {e.expires_at:%Y-%m-%d} (in {days} days)"
                    )
                    detail = f"{name}: {e.what} {state}" + (f"; {e.fix}" if e.fix else "")
                    last = await self.journal.last_notice_at(
                        tid, "credential_expiring", f"{name}: {e.what} "
                    )
                    if last is not None and now - last < timedelta(days=1):
                        continue
                    await self.journal.add_notice(tid, "credential_expiring", detail)
                    queued.append(detail)
        return queued

    async def audit_head_sent(self) -> datetime | None:
        """When the head was last put in a tenant's outbox to be sent out (None: never)."""
        times = [
            t
            for tid in self._served_ids()
            if (t := await self.journal.last_notice_at(tid, "audit_head")) is not None
        ]
        return max(times, default=None)

    async def deliver_notices(self) -> CourierReport:
        """Deliver what the outbox holds that is due; the scheduler does this on its own. The
        outbox is every tenant's: an actor limited to some tenants may not empty it."""
        if self.scope.limited:
            raise PolicyRefused(
                f"{self.scope.who or 'this actor'} serves some tenants only; the outbox of every "
                "tenant is delivered by the scheduler"
            )
        return await deliver_due(self.journal, self.cfg)

    async def notify_test(self, tenant_id: str) -> list[ChannelTest]:
        """A test message to each of the tenant's channels, now; each answers ok or why not."""
        tenant = await self._served(tenant_id, "notify_test")
        if not tenant.notify:
            raise ConfigurationError(
                f"tenant {tenant_id!r} has no notification channels; add a "
                f"[[tenants.{tenant_id}.notify]] table to {self.cfg.path}"
            )
        results = await send_tests(self.cfg, tenant_id)
        await self.journal.add_audit(
            self.actor,
            "notify_test",
            tenant_id,
            True,
            "; ".join(f"{r.channel}: {'ok' if r.ok else r.error}" for r in results),
        )
        return results


_NOT_FOUND = {
    "run": "no run {what}; `ess runs TENANT` lists a tenant's runs",
    "item": "no item {what}; `ess failures` lists the open ones",
    "elevation": "no elevation {what}",
}
"""The message of a missing run, item or elevation: the same for one of another tenant."""


def person_ref(tenant_id: str, key: str) -> str:
    """What stands for a forgotten person in the audit: 16 hex digits of a SHA-256 of tenant
    and source id. Whoever holds the id can recompute it; the log alone does not name them."""
    return "ref:" + hashlib.sha256(f"{tenant_id}\0{key}".encode()).hexdigest()[:16]


def _facts(row: ElevationRecord) -> approval.ElevationFacts:
    return approval.ElevationFacts(row.id, row.tenant, row.reason, row.created_at, row.expires_at)


async def journal_check(config: str | Path | LoadedConfig | None = None) -> JournalCheck:
    """``ess journal check``: the journal's schema and integrity. It opens the file without
    migrating it, so it also answers for a journal an older or a newer ESS wrote."""
    cfg = config if isinstance(config, LoadedConfig) else load_config(config)
    url, ref = cfg.config.journal.url, cfg.config.journal.password
    if url:
        return await inspect_postgres(url, password=cfg.secrets().resolve(ref) if ref else None)
    return await check_journal(cfg.journal_path)


async def journal_backup(
    dest: Path, config: str | Path | LoadedConfig | None = None, *, overwrite: bool = False
) -> JournalBackup:
    """``ess journal backup``: a consistent copy of the live journal, taken while runs go on;
    the journal is neither migrated nor written, so a backup before an upgrade is the old one."""
    cfg = config if isinstance(config, LoadedConfig) else load_config(config)
    _whole_installation(cfg, "backup")
    _sqlite_only(cfg, "backup", "back the database up with pg_dump or the server's own backups")
    return await backup_journal(cfg.journal_path, dest, overwrite=overwrite)


def _whole_installation(cfg: LoadedConfig, command: str) -> None:
    """A copy of the journal holds every tenant's rows: not for an engineer who serves some."""
    scope = operator_scope(cfg.config, os_user()[0])
    if scope.limited:
        raise PolicyRefused(
            f"`ess journal {command}` copies every tenant's rows, and {scope.who} serves "
            f"{', '.join(sorted(scope.tenants or ())) or 'no tenant'} only ([operators] in "
            f"{cfg.path})"
        )


def _sqlite_only(cfg: LoadedConfig, command: str, instead: str) -> None:
    """``ess journal backup`` acts on the SQLite file; say so on a hosted journal."""
    if cfg.config.journal.url:
        raise ConfigurationError(
            f"`ess journal {command}` works on the SQLite journal file; this installation's "
            f"journal is the PostgreSQL database {journal_location(cfg)}: {instead} "
            "(docs/hosted.md)"
        )


async def journal_migrate(
    source: Path | None = None,
    url: str | None = None,
    *,
    password: str | None = None,
    config: str | Path | LoadedConfig | None = None,
) -> JournalMove:
    """``ess journal migrate``: copy the on-site SQLite journal (default: the configured file)
    into the hosted PostgreSQL journal (default: ``[journal] url``), history and all. The
    password is a secret reference (default: ``[journal] password``)."""
    cfg = config if isinstance(config, LoadedConfig) else load_config(config)
    _whole_installation(cfg, "migrate")
    url = url or cfg.config.journal.url
    if not url:
        raise ConfigurationError(
            "name the PostgreSQL journal: --to postgresql://user@host/db, or [journal] url"
        )
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(f"--to must be a PostgreSQL URL (postgresql://...), not {url!r}")
    ref = password or cfg.config.journal.password
    secret = cfg.secrets().resolve(ref) if ref else None
    return await move_to_postgres(
        source or cfg.journal_path,
        url,
        password=secret,
        civic_hash=cfg.civic_hash(on_first_use=True),
    )


def _field_limits(tenant: TenantConfig) -> dict[tuple[str, str], Limit]:
    """The strictest field limits of the tenant's targets, from their classes (a source check
    builds no target); a target type that cannot be loaded adds none."""
    tables = []
    for name in tenant.targets:
        try:
            cls = plugins.target_class(tenant.target_type(name))
        except plugins.PluginError:
            continue
        tables.append((name, cls.field_limits))
    return strictest(tables)


SeverityName = Literal["blocking", "warning"]  # engine.findings.Severity, for front ends
LevelName = Literal["debug", "info", "warning", "error"]  # a run log event's level
SEVERITIES: tuple[str, ...] = get_args(SeverityName)
LEVELS: tuple[str, ...] = get_args(LevelName)
assert set(SEVERITIES) == {s.value for s in Severity}


def _known(what: str, value: str | None, allowed: Sequence[str]) -> None:
    """A filter value must be one ESS knows: an unknown one would match nothing, silently."""
    if value is not None and value not in allowed:
        raise NotFound(f"no {what} {value!r}; it is one of {', '.join(allowed)}")


async def _mapped(work: Awaitable[T]) -> T:
    """Run engine work, turning the runner's errors into the facade's."""
    try:
        return await work
    except runner.TenantBusy as exc:
        raise Busy(str(exc), expires_in=exc.expires_in) from None
    except runner.AdapterConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    except runner.RunError as exc:
        raise OpsError(str(exc)) from None


class _ReadOnlyCache:
    """A source check reads incrementally from the stored snapshot but never stores."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def load(self) -> Any:
        return await self._inner.load()

    async def save(self, **_: Any) -> None:
        return None


_AUDIT_PAGE = 5000

_MAKES = frozenset({Action.CREATE, Action.UPDATE, Action.RESTORE})
"""Actions whose attributes are what a target should hold."""


def _attrs_dict(attrs: Attrs) -> dict[str, Any]:
    """Attributes as the JSON they are stored as: a map, with arrays as lists again."""
    return {str(k): _as_json(v) for k, v in attrs}


def _as_json(value: Any) -> Any:
    if type(value) is tuple:
        return [_as_json(v) for v in value]
    return value


def _finding_view(
    f: FindingRecord, masked: frozenset[str] = frozenset(), hide: Callable[[str], str] = lambda t: t
) -> FindingView:
    """A finding as the front ends show it: about a person protected since it was written, the
    pseudonym in place of the label, and their former names hidden in the message."""
    about_masked = f.record_type == "person" and f.record_id in masked
    return FindingView(
        id=f.id,
        run_id=f.run_id,
        tenant=f.tenant,
        code=f.code,
        severity=f.severity,
        record_type=f.record_type,
        record_id=f.record_id,
        label=pseudonym(f.record_id) if about_masked else f.label,
        message=hide(f.message),
        fix=hide(f.fix),
    )


def _same(text: str) -> str:
    return text


def _event_view(e: EventRecord, hide: Callable[[str], str] = _same) -> EventView:
    return EventView(e.id, e.run_id, e.tenant, e.at, e.level, hide(e.message))


def _advice(r: OperationRecord) -> str:
    status, reason = r.status.value, r.reason
    if status == "dead":
        return (
            "the target refused the data: fix the record in the source system (see the "
            "error), then retry the item or let the next run pick it up"
        )
    if status == "failed":
        return (
            f"kept failing ({reason or 'transient error'}); if the service is healthy "
            f"again, retry it (`ess retry {r.op.id}`, or r in the console); if it keeps "
            f"failing, skip it (`ess skip {r.op.id} --reason ...`, or k) and report it"
        )
    if status == "blocked":
        return "waits for an item it depends on: retry that item first (retry includes it)"
    if status == "skipped":
        return "skipped by an operator; it is tried again when its source record changes"
    if status == "pending" and reason:
        return f"waiting to retry ({reason})"
    return ""


def _redacted_config(t: TenantConfig) -> dict[str, Any]:
    data = t.model_dump(mode="json")

    def scrub(obj: Any, key: str = "") -> Any:
        if isinstance(obj, dict):
            return {k: scrub(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [scrub(v) for v in obj]
        if isinstance(obj, str) and any(w in key.lower() for w in ("secret", "password", "token")):
            return obj if obj.startswith(("env:", "file:")) else "***"
        return obj

    return scrub(data)  # type: ignore[no-any-return]


def _explain_summary(
    record_type: str,
    label: str,
    source: dict[str, Any] | None,
    findings: Sequence[FindingView],
    observed: dict[str, dict[str, Any]],
    ops: Sequence[OperationView],
    targets: Sequence[str],
) -> str:
    parts = []
    if source is None:
        parts.append(f"The source does not (or no longer) deliver this {record_type}.")
    else:
        parts.append(f"{label} is in the source.")
    blocking = [f for f in findings if f.severity == "blocking"]
    if blocking:
        parts.append(
            "It is kept out of the targets by "
            + "; ".join(f"{f.code} ({f.message})" for f in blocking[:3])
            + "."
        )
    for t in targets:
        seen = observed.get(t)
        if not seen:
            parts.append(f"{t}: not created yet.")
        else:
            bits = []
            for kind, info in seen.items():
                state = (
                    "suspended"
                    if info.get("suspended_at")
                    else ("archived" if info.get("archived") else "present")
                )
                as_of = str(info.get("as_of") or "")[:16].replace("T", " ")
                bits.append(
                    f"{kind} {state} (id {info.get('target_id')}"
                    + (f"; as ESS last wrote or read it, {as_of} UTC)" if as_of else ")")
                )
            parts.append(f"{t}: " + ", ".join(bits) + ".")
            removed = any(i.get("suspended_at") or i.get("archived") for i in seen.values())
            warnings = sorted(  # the record's own findings first (person.no_role)
                (f for f in findings if f.severity != "blocking"),
                key=lambda f: not f.code.startswith(record_type + "."),
            )
            if removed and warnings:  # the finding behind the decision
                parts.append(
                    "Why: " + "; ".join(f"{f.code} ({f.message})" for f in warnings[:3]) + "."
                )
    trouble = [o for o in ops if o.status in ("failed", "dead", "blocked")]
    if trouble:
        o = trouble[0]
        parts.append(
            f"Open problem: item {o.id} ({o.action} {o.kind}) is {o.status}: "
            f"{o.last_error or o.reason}. {o.advice}"
        )
    return " ".join(parts)
