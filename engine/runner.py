"""One run of one tenant, as data flowing through the house.

Lease, read the source, validate, map each target's desired state, refresh its observed state,
plan, judge with the guard, store the plan in one transaction, execute, record. Also the
continuations of earlier runs: resuming after a crash, applying an approved plan, retrying
items.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from engine import plan_preview, plugins
from engine.config import LoadedConfig, TenantConfig, validation_message
from engine.display import scrub_personnummer
from engine.drift import decide_drift
from engine.executor import MAKES, ExecResult, Executor, RetryPolicy
from engine.findings import Finding
from engine.first_sign_in import InitialPasswords
from engine.guard import judge
from engine.hand_over import class_names, hand_over
from engine.journal import Journal, Lease, LeaseHeld, LeaseOwner, OperationRecord
from engine.journal.agent_uploads import JournalUploads
from engine.journal.sqlite import now_iso
from engine.lease_heartbeat import JournalOpener, LeaseHeartbeat
from engine.limits import shortened, strictest
from engine.merge import Merged, SourcePart, merge
from engine.model import NOTHING_REFUSED, GroupType, MemberRole, Refused, Snapshot
from engine.monitoring import TRAFFIC
from engine.perf import gc_paused, thaw
from engine.plan import Operation, OpStatus, Plan
from engine.planner import PlanInput, held_keys, plan
from engine.redact import group_record, person_label, person_record, school_record
from engine.rules import Rule, run_rules
from engine.secrets import SecretError
from engine.source import Source, SourceContext, SourceError
from engine.source_failure import FailedSources
from engine.target import ObservedState, Target, TargetContext
from engine.validate import blocked_ids, check_read
from engine.views import Progress

LEASE_TTL = 300.0
"""A run's lease, in seconds, unless the run is given its own (a hosted worker's is short:
``[workers] lease_s``). The run's heartbeat renews it every third of that."""


class RunError(Exception):
    """A run could not start or had to stop; the message is for a support engineer."""


class TenantBusy(RunError):
    def __init__(self, message: str, *, expires_in: float | None = None) -> None:
        super().__init__(message)
        self.expires_in = expires_in  # seconds until the holder's lease runs out, when known


class AdapterConfigError(RunError):
    """A source or target table that cannot be used; names the tenant and the table."""


@dataclass
class RunOptions:
    actor: str
    trigger: str = "manual"
    dry_run: bool = False
    targets: Sequence[str] | None = None
    full: bool = False
    progress: Callable[[Progress], None] | None = None
    today: date | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_ttl: float = LEASE_TTL
    # opens a journal of the heartbeat's own: it then renews the lease from a thread, which
    # the run's work on the event loop cannot hold up (a hosted worker's short lease)
    lease_journal: JournalOpener | None = None


class RunLog:
    """Buffers the run's events and writes them in batches."""

    def __init__(self, journal: Journal, tenant: str, run_id: int | None) -> None:
        self.journal, self.tenant, self.run_id = journal, tenant, run_id
        self._buf: list[tuple[str, str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self._buf.append((now_iso(), level, message))

    async def flush(self) -> None:
        buf, self._buf = self._buf, []
        await self.journal.add_events(self.tenant, self.run_id, buf)


async def take_lease(journal: Journal, tenant_id: str, actor: str) -> Lease:
    """The tenant's lease for work outside a run (a rekey); :class:`TenantBusy` when held."""
    return await _lease(journal, tenant_id, actor)


def holder_name(actor: str) -> str:
    """Who holds a lease, for people; the journal also keeps the process itself
    (:class:`LeaseOwner`), so that a holder that died on this host is taken over at once."""
    me = LeaseOwner.this_process()
    return f"{actor} on {me.host} pid {me.pid}"


ADAPTER_ERRORS = (plugins.PluginError, SecretError, ValueError, TypeError, OSError)
"""What building an adapter from its table raises for a configuration problem."""


def _adapter_problem(where: str, exc: Exception) -> AdapterConfigError:
    """A pydantic error is written without the values given (one may be a literal secret)."""
    if isinstance(exc, ValidationError):
        return AdapterConfigError(validation_message(exc, where))
    return AdapterConfigError(f"{where}: {scrub_personnummer(str(exc))}")


def build_source(cfg: LoadedConfig, tenant_id: str, tenant: TenantConfig) -> Source:
    """The tenant's first source (its only one in the ``[tenants.NAME.source]`` form)."""
    key, settings = next(iter(tenant.source_tables().items()))
    return build_source_table(cfg, source_where(tenant_id, key), settings)


def source_where(tenant_id: str, key: str) -> str:
    """Where a source's table is in ess.toml, for messages."""
    return f"tenants.{tenant_id}.sources.{key}" if key else f"tenants.{tenant_id}.source"


def build_source_table(cfg: LoadedConfig, where: str, settings: Mapping[str, Any]) -> Source:
    """A source from its adapter table; ``where`` names the table in a message."""
    try:
        cls = plugins.load("ess.sources", str(settings["type"]))
        source: Source = cls.from_config(dict(settings), cfg.secrets())
    except ADAPTER_ERRORS as exc:
        raise _adapter_problem(where, exc) from None
    return source


async def build_sources(
    cfg: LoadedConfig, tenant_id: str, tenant: TenantConfig
) -> dict[str, Source]:
    """Every source of the tenant by its key, in precedence order; a table that cannot be
    used stops it all (with the sources already built closed)."""
    out: dict[str, Source] = {}
    try:
        for key, settings in tenant.source_tables().items():
            out[key] = build_source_table(cfg, source_where(tenant_id, key), settings)
    except AdapterConfigError:
        await close_sources(out)
        raise
    return out


async def close_sources(sources: Mapping[str, Source]) -> None:
    for source in sources.values():
        await source.aclose()


def cache_scope(tenant_id: str, key: str) -> str:
    """Where a source keeps its raw records in the journal: the tenant's own cache for the
    single form, ``TENANT/KEY`` for each of several (a tenant id holds no ``/``)."""
    return f"{tenant_id}/{key}" if key else tenant_id


async def read_sources(
    sources: Mapping[str, Source],
    tenant: TenantConfig,
    context: Callable[[str], SourceContext],
    *,
    full: bool,
    today: date,
    aliases: Mapping[tuple[str, str], str] | None = None,
) -> Merged:
    """Read every source (at once) and merge their snapshots (:mod:`engine.merge`).

    A failed read of the only source, or of a source with ``on_error = "stop"``, raises its
    :class:`SourceError`; a failed read of another is left out of the merge, which then holds
    the removal of what it owned (:mod:`engine.source_failure`); when none could be read the run
    stops."""

    async def one(key: str, source: Source) -> SourcePart:
        entry = tenant.source_entry(key)
        try:
            read = await source.read(context(key), full=full)
        except SourceError as exc:
            if len(sources) == 1 or entry.on_error == "stop":
                raise SourceError(f"{key}: {exc}" if key else str(exc)) from exc
            return SourcePart(key, None, entry.schools, scrub_personnummer(str(exc)))
        if len(sources) > 1 and source.rules:  # its standard's rules, on its records only
            read = replace(read, findings=(*read.findings, *run_rules(source.rules, read.snapshot)))
        return SourcePart(key, read, entry.schools)

    parts = await asyncio.gather(*(one(k, s) for k, s in sources.items()))
    if all(p.read is None for p in parts):
        raise SourceError(
            "no source could be read: " + "; ".join(f"{p.key}: {p.error}" for p in parts)
        )
    return merge(parts, tenant.match, today, aliases)


def source_rules(sources: Mapping[str, Source]) -> tuple[Rule, ...]:
    """The rules of the source's standard, for the whole snapshot; with several sources none,
    as :func:`read_sources` runs each source's rules on its own records (an SS 12000 rule
    has nothing to say about an IMS export's schools)."""
    if len(sources) != 1:
        return ()
    return tuple(next(iter(sources.values())).rules)


def build_target(cfg: LoadedConfig, tenant_id: str, tenant: TenantConfig, name: str) -> Target:
    settings = dict(tenant.targets[name])
    try:
        cls = plugins.target_class(tenant.target_type(name))
        target: Target = cls.from_config(name, settings, tenant.policy, cfg.secrets())
    except ADAPTER_ERRORS as exc:
        raise _adapter_problem(f"tenants.{tenant_id}.targets.{name}", exc) from None
    return target


async def _close_targets(tenant_id: str, targets: Mapping[str, Target]) -> None:
    """Close the run's targets, adding what their HTTP clients counted to /metrics."""
    for name, t in targets.items():
        TRAFFIC.add(tenant_id, name, t.traffic())
        await t.aclose()


def chosen_targets(tenant: TenantConfig, wanted: Sequence[str] | None) -> list[str]:
    names = list(tenant.targets)
    if not wanted:
        return names
    unknown = [t for t in wanted if t not in tenant.targets]
    if unknown:
        raise RunError(
            f"unknown target(s) {', '.join(unknown)}; this tenant has {', '.join(names) or 'none'}"
        )
    return list(wanted)


async def sync(journal: Journal, cfg: LoadedConfig, tenant_id: str, opts: RunOptions) -> int:
    """A whole run; returns its id. Raises :class:`TenantBusy` when another run holds the
    lease."""
    tenant = cfg.tenant(tenant_id)
    names = chosen_targets(tenant, opts.targets)
    await journal.upsert_tenant(tenant_id, tenant.name or tenant_id, tenant.tier)
    lease = await _lease(journal, tenant_id, opts.actor, opts.lease_ttl)
    try:
        async with LeaseHeartbeat(journal, lease, opts.lease_ttl, own_journal=opts.lease_journal):
            await _resume_interrupted(journal, cfg, tenant_id, lease, opts)
            return await _fresh_run(journal, cfg, tenant_id, tenant, names, lease, opts)
    finally:
        await journal.release_lease(lease)
        thaw()  # the run's bulk objects were frozen out of the collector's way


async def _lease(journal: Journal, tenant_id: str, actor: str, ttl: float = LEASE_TTL) -> Lease:
    try:
        return await journal.acquire_lease(tenant_id, holder_name(actor), ttl)
    except LeaseHeld as exc:
        raise TenantBusy(str(exc), expires_in=exc.expires_in) from exc


@dataclass(frozen=True)
class SignIn:
    """A run's first sign-in choice and where its initial passwords go (engine.hand_over)."""

    tenant: TenantConfig
    base_dir: Path
    actor: str
    class_of: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, cfg: LoadedConfig, tenant: TenantConfig, actor: str, snap: Snapshot | None = None
    ) -> SignIn:
        class_of: dict[str, str] = {}
        if snap is not None and tenant.first_sign_in == "passwords":
            classes = {
                g.id: (g.name, s.name if (s := snap.schools.get(g.school_id)) else "")
                for g in snap.groups.values()
                if g.group_type is GroupType.KLASS
            }
            class_of = class_names(
                classes,
                [
                    (m.group_id, m.person_id)
                    for m in snap.current_memberships()
                    if m.role is MemberRole.STUDENT
                ],
            )
        return cls(tenant, cfg.base_dir, actor, class_of)

    @classmethod
    async def of_run(
        cls, journal: Journal, cfg: LoadedConfig, tenant_id: str, run_id: int, actor: str
    ) -> SignIn:
        """For a run applied without reading the source again (approved, resumed, retried):
        the classes come from the run's own member links and the index's groups."""
        tenant = cfg.tenant(tenant_id)
        if tenant.first_sign_in != "passwords":
            return cls(tenant, cfg.base_dir, actor)
        members: list[tuple[str, str]] = []
        for op, _, _ in await journal.load_operations(run_id):
            if op.parent and op.kind.endswith((".member", ".student")):
                members.append((op.parent, op.key))
        classes: dict[str, tuple[str, str]] = {}
        for gid in {g for g, _ in members}:
            found = await journal.index_record(tenant_id, "group", gid)
            if found is not None and found.detail.startswith(GroupType.KLASS.value):
                school = found.detail.partition(" at ")[2].partition(",")[0]
                classes[gid] = (found.label, school)
        return cls(tenant, cfg.base_dir, actor, class_names(classes, members))

    def folder(self) -> Path | None:
        if self.tenant.hand_over is None:
            return None
        p = Path(self.tenant.hand_over.folder).expanduser()
        return p if p.is_absolute() else self.base_dir / p


async def _fresh_run(
    journal: Journal,
    cfg: LoadedConfig,
    tenant_id: str,
    tenant: TenantConfig,
    names: list[str],
    lease: Lease,
    opts: RunOptions,
) -> int:
    # Build every adapter first: a configuration problem stops here, before a run exists.
    try:
        civic_hash = cfg.civic_hash()
    except SecretError as exc:
        raise _adapter_problem("privacy.civic_key", exc) from None
    sources = await build_sources(cfg, tenant_id, tenant)
    targets: dict[str, Target] = {}
    try:
        for name in names:
            targets[name] = build_target(cfg, tenant_id, tenant, name)
    except AdapterConfigError:
        await close_sources(sources)
        await _close_targets(tenant_id, targets)
        raise
    run_id = await journal.create_run(
        tenant_id, trigger=opts.trigger, actor=opts.actor, dry_run=opts.dry_run, targets=names
    )
    log = RunLog(journal, tenant_id, run_id)
    progress = opts.progress or (lambda p: None)
    kind = "dry run" if opts.dry_run else "run"
    log("info", f"{kind} {run_id} of {tenant_id} started by {opts.actor} ({opts.trigger})")
    today = opts.today or datetime.now(UTC).date()
    try:
        started = time.monotonic()

        def context(key: str) -> SourceContext:
            return SourceContext(
                tenant=tenant_id,
                cache=journal.source_cache(cache_scope(tenant_id, key)),
                today=today,
                emit=log,
                progress=lambda entity, n: progress(
                    Progress("read", key or "source", n, 0, entity)
                ),
                civic_hash=civic_hash,
                agent_uploads=JournalUploads(journal),
            )

        aliases = await journal.source_aliases(tenant_id) if len(sources) > 1 else {}
        read = await read_sources(
            sources, tenant, context, full=opts.full, today=today, aliases=aliases
        )
        failure: FailedSources | None = None
        if len(sources) > 1 and not read.failed:
            owners = {
                key: kept
                for key, by_type in read.owners.items()
                if (kept := {t: ids for t, ids in by_type.items() if ids})
            }
            if read.aliases != aliases or owners != await journal.source_owners(tenant_id):
                await journal.replace_source_aliases(tenant_id, read.aliases, owners)
        if not read.failed:  # every source read: a cache of none of them is a removed one's
            dropped = await journal.drop_source_caches(
                tenant_id, [cache_scope(tenant_id, key) for key in sources]
            )
            if dropped:
                log("info", f"removed {dropped} cached records of sources no longer configured")
        elif read.failed:
            failure = FailedSources.of(read.failed, await journal.source_owners(tenant_id))
        snap = read.snapshot
        log(
            "info",
            f"read the source ({read.mode}) in {time.monotonic() - started:.1f} s: "
            + ", ".join(f"{v} {k}" for k, v in snap.counts().items()),
        )
        if len(sources) > 1:
            for key, part in read.counts.items():
                log("info", f"source {key}: " + ", ".join(f"{v} {k}" for k, v in part.items()))
        for key in read.failed:
            log(
                "warning",
                f"the source {key} could not be read; the others go on and no removal of "
                "what it owned is planned",
            )
        holds = await journal.source_holds(tenant_id)
        held = Refused().with_ids(
            schools=(h.key for h in holds if h.record_type == "school"),
            persons=(h.key for h in holds if h.record_type == "person"),
            groups=(h.key for h in holds if h.record_type == "group"),
        )
        if holds:
            log("info", f"{len(holds)} record(s) held by `ess source rekey` are not removed")
        with gc_paused():
            limits = strictest((n, t.field_limits) for n, t in targets.items())
            snap, findings = check_read(snap, read.findings, limits, source_rules(sources))
        whole = shortened(snap)  # for the index and the findings' labels
        s_ids, p_ids, g_ids = blocked_ids(findings)
        if s_ids or p_ids or g_ids:
            log(
                "warning",
                f"blocking findings keep out {len(s_ids)} school(s), "
                f"{len(p_ids)} person(s) and {len(g_ids)} group(s)",
            )
            snap = snap.refusing(schools=s_ids, persons=p_ids, groups=g_ids)
        if snap.refused:
            log(
                "warning",
                f"refused records are held as they were, nothing removes them: "
                f"{snap.refused.counts()}",
            )
        await journal.update_run(run_id, source_mode=read.mode)
        labels = await _index_snapshot(journal, tenant_id, whole, tenant.policy.protected_identity)
        await journal.add_findings(run_id, tenant_id, findings, labels)

        plans: list[Plan] = []
        link_kinds: set[str] = set()
        # what a target's mapping finds (a class no team can own yet) is stored with the rest
        target_findings: list[Finding] = []
        for name in names:
            target = targets[name]
            link_kinds.update(s.name for s in target.links)
            link_kinds.update(target.relation_kinds)
            plans.append(
                await _plan_target(
                    journal,
                    tenant_id,
                    run_id,
                    name,
                    target,
                    snap,
                    log,
                    progress,
                    tenant,
                    target_findings,
                    holds=held,
                    failure=failure,
                )
            )
        if target_findings:
            await journal.add_findings(run_id, tenant_id, target_findings, labels)
        history = await journal.removal_history(tenant_id, tenant.policy.guard.erosion_runs)
        verdict = judge(plans, tenant.policy.guard, link_kinds, history)
        counts = _plan_counts(plans)
        counts.update(_finding_counts([*findings, *target_findings]))
        await journal.update_run(run_id, counts=counts, guard=verdict.as_dict())
        for p in plans:
            log(
                "info",
                f"plan for {p.target}: {len(p)} operation(s)"
                + (
                    ": " + ", ".join(f"{n} {a} {k}" for (a, k), n in sorted(p.counts().items()))
                    if len(p)
                    else ""
                ),
            )
        if opts.dry_run:
            if verdict.held:
                log("warning", "a real run would be held: " + "; ".join(verdict.reasons))
            await _log_preview(journal, tenant_id, plans, whole, tenant, log)
            await log.flush()
            await journal.update_run(run_id, status="succeeded", finished=True)
            return run_id

        await journal.supersede_held(tenant_id, run_id)
        stored = await journal.store_plans(run_id, tenant_id, plans)
        from engine.faults import crash_point

        crash_point("after_plan")
        if verdict.held:
            for reason in verdict.reasons:
                log("warning", f"held for approval: {reason}")
            log(
                "warning",
                f"nothing was applied; approve with `ess approve {run_id}` or "
                f"reject with `ess reject {run_id}`",
            )
            await log.flush()
            await journal.update_run(run_id, status="held", finished=True)
            return run_id
        await log.flush()
        sign_in = SignIn.of(cfg, tenant, opts.actor, snap)
        result = await _execute(
            journal, tenant_id, run_id, lease, targets, stored, opts, log, sign_in=sign_in
        )
        await _finish(journal, run_id, result, counts, log)
        return run_id
    except SourceError as exc:
        log("error", f"the source could not be read: {exc}")
        await log.flush()
        await journal.update_run(run_id, status="failed", error=str(exc), finished=True)
        return run_id
    except asyncio.CancelledError:
        log("warning", "the run was cancelled")
        await log.flush()
        await journal.update_run(run_id, status="cancelled", finished=True)
        raise
    except Exception as exc:
        log("error", f"the run stopped: {type(exc).__name__}: {exc}")
        await log.flush()
        await journal.update_run(run_id, status="failed", error=f"{exc}", finished=True)
        raise
    finally:
        await close_sources(sources)
        await _close_targets(tenant_id, targets)


async def _plan_target(
    journal: Journal,
    tenant_id: str,
    run_id: int,
    name: str,
    target: Target,
    snap: Snapshot,
    log: RunLog,
    progress: Callable[[Progress], None],
    tenant: TenantConfig,
    findings: list[Finding],
    *,
    holds: Refused = NOTHING_REFUSED,
    failure: FailedSources | None = None,
) -> Plan:
    """Plan one target; the findings its mapping makes are added to ``findings``. With
    ``failure`` (a source could not be read) nothing that source owned is removed."""
    progress(Progress("plan", name, 0, 1))
    with gc_paused():
        desired = target.desired(snap)
    findings.extend(desired.findings)
    observed = await journal.load_mirror(tenant_id, name)
    ctx = _target_ctx(journal, tenant_id, run_id, name, observed, log)
    refreshed = await target.refresh(observed, ctx)
    drift = decide_drift(tenant.policy.drift, observed, refreshed)
    if drift.found:
        log("warning", f"{name}: drift found in the target: {drift.found}")
        if drift.repaired:
            await journal.replace_mirror(tenant_id, name, drift.observed)
        else:
            log("info", f'{name}: drift is only reported (policy drift = "report")')
    observed = drift.observed
    skips = await journal.skips(tenant_id, name)
    with gc_paused():
        held = held_keys(
            target.record_types,
            target.kinds,
            snap.refused.with_ids(
                schools=holds.schools, persons=holds.persons, groups=holds.groups
            ),
        )
        if failure is not None:
            kept = failure.held(target.kinds, target.record_types, desired, observed)
            for kind, keys in kept.items():
                held[kind] = held.get(kind, frozenset()) | keys
            if kept:
                findings.append(failure.finding(name, kept))
                log(
                    "warning",
                    f"{name}: the removal of {sum(map(len, kept.values()))} object(s) is held, "
                    f"as the source(s) {', '.join(failure.failed)} that owned them could not "
                    "be read: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(kept.items())),
                )
        p = plan(
            PlanInput(
                name,
                target.kinds,
                target.links,
                desired,
                observed,
                datetime.now(UTC),
                skips,
                held,
            )
        )
    progress(Progress("plan", name, 1, 1, f"{len(p)} operations"))
    return p


def _target_ctx(
    journal: Journal,
    tenant_id: str,
    run_id: int,
    name: str,
    observed: ObservedState,
    log: RunLog,
    passwords: InitialPasswords | None = None,
) -> TargetContext:
    ids: dict[tuple[str, str], str | None] = {
        (kind, key): o.target_id
        for kind, table in observed.objects.items()
        for key, o in table.items()
    }
    return TargetContext.with_ids(tenant_id, run_id, ids, log, passwords)


async def _execute(
    journal: Journal,
    tenant_id: str,
    run_id: int,
    lease: Lease,
    targets: Mapping[str, Target],
    stored: Sequence[Operation],
    opts: RunOptions,
    log: RunLog,
    rows: Sequence[tuple[Operation, OpStatus, float]] | None = None,
    *,
    sign_in: SignIn,
) -> dict[str, ExecResult]:
    passwords = InitialPasswords(sign_in.tenant.first_sign_in)
    by_target: dict[str, list[tuple[Operation, OpStatus, float]]] = {}
    if rows is None:
        doubted = await _left_in_doubt(journal, tenant_id, run_id)
        rows = [
            (op, OpStatus.IN_FLIGHT if _same_make(op) in doubted else OpStatus.PENDING, 0.0)
            for op in stored
        ]
    for row in rows:
        by_target.setdefault(row[0].target, []).append(row)

    async def one(name: str, work: list[tuple[Operation, OpStatus, float]]) -> ExecResult:
        target = targets[name]
        observed = await journal.load_mirror(tenant_id, name)
        ctx = _target_ctx(journal, tenant_id, run_id, name, observed, log, passwords)
        ex = Executor(
            journal,
            lease,
            tenant_id,
            target,
            ctx,
            retry=opts.retry,
            progress=opts.progress,
            emit=log,
            lease_ttl=opts.lease_ttl,
        )
        result = await ex.run(work)
        await log.flush()
        return result

    names = sorted(by_target)
    try:
        results = await asyncio.gather(*(one(n, by_target[n]) for n in names))
    finally:
        # the accounts made so far are handed over even when the run stops: they exist now
        if passwords.issued():
            await hand_over(
                journal,
                tenant=tenant_id,
                run_id=run_id,
                actor=sign_in.actor,
                passwords=passwords,
                class_of=sign_in.class_of,
                config=sign_in.tenant.hand_over,
                folder=sign_in.folder(),
                emit=log,
            )
            await log.flush()
    return dict(zip(names, results, strict=True))


EARLIER_RUNS = 10
"""How many of a tenant's earlier finished runs are searched for creates left in doubt."""


def _same_make(op: Operation) -> tuple[str, str, str]:
    return (op.target, op.kind, op.key) if op.action in MAKES else ("", "", "")


async def _left_in_doubt(
    journal: Journal, tenant_id: str, run_id: int
) -> set[tuple[str, str, str]]:
    """Creates that earlier runs left in flight (a run that stopped on a tenant-level error or
    was cancelled while they were in doubt): the same create in this run is read back before
    it is sent, and waits out the target's window, as a resumed item would."""
    out: set[tuple[str, str, str]] = set()
    runs = await journal.list_runs(
        tenant_id, before=run_id, limit=EARLIER_RUNS, statuses=FINISHED_WITH_WORK_LEFT
    )
    for run in runs:
        for op, _, _ in await journal.load_operations(run.id, ["in_flight"]):
            if op.action in MAKES:
                out.add(_same_make(op))
    return out


FINISHED_WITH_WORK_LEFT = ("failed", "partial", "cancelled")


async def _finish(
    journal: Journal,
    run_id: int,
    results: Mapping[str, ExecResult],
    plan_counts: Mapping[str, int],
    log: RunLog,
) -> None:
    status_counts = await journal.status_counts(run_id)
    counts = dict(plan_counts)
    counts.update(status_counts)
    fatal = next((r.fatal for r in results.values() if r.fatal), None)
    trouble = sum(status_counts.get(s, 0) for s in ("failed", "dead", "blocked"))
    if fatal:
        status = "failed"
    elif trouble or status_counts.get("pending", 0) or status_counts.get("in_flight", 0):
        status = "partial"
    else:
        status = "succeeded"
    log(
        "info" if status == "succeeded" else "warning",
        f"run {run_id} {status}: "
        + ", ".join(f"{n} {s}" for s, n in sorted(status_counts.items())),
    )
    await log.flush()
    await journal.update_run(run_id, status=status, counts=counts, error=fatal, finished=True)


def _plan_counts(plans: Sequence[Plan]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for p in plans:
        c["planned"] += len(p)
        for (action, _kind), n in p.counts().items():
            c[f"planned_{action}"] += n
    return dict(c)


def _finding_counts(findings: Sequence[Finding]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for f in findings:
        c[f"findings_{f.severity.value}"] += 1
    return dict(c)


def school_year(start: date) -> str:
    """The Swedish school year a group starting on ``start`` belongs to, as "2026/27" (a
    school year starts in July or August; a group starting in spring is of the year before)."""
    first = start.year if start.month >= 7 else start.year - 1
    return f"{first}/{(first + 1) % 100:02d}"


async def _log_preview(
    journal: Journal,
    tenant_id: str,
    plans: list[Plan],
    snap: Snapshot,
    tenant: TenantConfig,
    log: RunLog,
) -> None:
    """A dry run lists its operations item by item, old → new, up to PREVIEW_LIMIT in all."""
    masked = (
        frozenset(p.id for p in snap.persons.values() if p.is_protected)
        if tenant.policy.protected_identity != "include"
        else frozenset()
    )
    room = plan_preview.PREVIEW_LIMIT
    for p in plans:
        observed = await journal.load_mirror(tenant_id, p.target)
        for text in plan_preview.preview(p, observed, masked, room):
            log("info", text)
        shown = min(len(p), max(0, room))
        room -= shown
        if shown < len(p):
            log(
                "info",
                f"{len(p) - shown} more operation(s) for {p.target} are not listed "
                f"(a dry run lists the first {plan_preview.PREVIEW_LIMIT})",
            )


async def _index_snapshot(
    journal: Journal, tenant_id: str, snap: Snapshot, protected_identity: str
) -> dict[str, str]:
    """Write the searchable index of the snapshot (no personnummer) and return labels."""
    rows: list[tuple[str, str, str, str, str, str | None]] = []
    labels: dict[str, str] = {}
    roles: dict[str, set[str]] = {}
    for r in snap.school_roles:
        roles.setdefault(r.person_id, set()).add(r.role.value)
    for p in snap.persons.values():
        label = person_label(p, protected_identity)
        labels[p.id] = label
        masked = p.is_protected and protected_identity != "include"
        search = " ".join([label, p.id] + ([] if masked else [*p.eppns, *p.emails])).lower()
        detail = ", ".join(sorted(roles.get(p.id, {"no role"})))
        rows.append(
            (
                "person",
                p.id,
                label,
                detail,
                search,
                orjson.dumps(person_record(p, protected_identity)).decode(),
            )
        )
    for g in snap.groups.values():
        labels[g.id] = g.name
        school = snap.schools.get(g.school_id)
        detail = f"{g.group_type.value}" + (f" at {school.name}" if school else "")
        if g.start is not None:  # two classes named 9A differ by school or by year
            detail += f", {school_year(g.start)}"
        rows.append(
            (
                "group",
                g.id,
                g.name,
                detail,
                f"{g.name} {g.id}".lower(),
                orjson.dumps(group_record(g)).decode(),
            )
        )
    for s in snap.schools.values():
        labels[s.id] = s.name
        rows.append(
            (
                "school",
                s.id,
                s.name,
                s.school_unit_code or "",
                f"{s.name} {s.id} {s.school_unit_code or ''}".lower(),
                orjson.dumps(school_record(s)).decode(),
            )
        )
    await journal.replace_index(tenant_id, rows)
    return labels


async def _resume_interrupted(
    journal: Journal, cfg: LoadedConfig, tenant_id: str, lease: Lease, opts: RunOptions
) -> None:
    """Finish runs that a crash left behind, checking in-flight items against the target."""
    stale = await journal.list_runs(tenant_id, statuses=["running"], limit=20)
    for run in reversed(stale):
        run_id = run.id
        log = RunLog(journal, tenant_id, run_id)
        if run.dry_run:
            await journal.update_run(run_id, status="failed", error="interrupted", finished=True)
            continue
        log("warning", f"run {run_id} was interrupted; resuming it under {opts.actor}")
        await _continue_run(
            journal, cfg, tenant_id, run_id, lease, opts, log, statuses=("pending", "in_flight")
        )


async def _continue_run(
    journal: Journal,
    cfg: LoadedConfig,
    tenant_id: str,
    run_id: int,
    lease: Lease,
    opts: RunOptions,
    log: RunLog,
    statuses: Sequence[str],
) -> None:
    tenant = cfg.tenant(tenant_id)
    rows = await journal.load_operations(run_id, statuses)
    run = await journal.get_run(run_id)
    counts: dict[str, int] = dict(run.counts) if run else {}
    needed = sorted({op.target for op, _, _ in rows})
    targets: dict[str, Target] = {}
    try:
        for name in needed:
            if name not in tenant.targets:
                raise RunError(
                    f"run {run_id} has work for target {name!r}, which is no longer "
                    "in the configuration"
                )
            targets[name] = build_target(cfg, tenant_id, tenant, name)
        await journal.update_run(run_id, status="running")
        result = await _execute(
            journal,
            tenant_id,
            run_id,
            lease,
            targets,
            [],
            opts,
            log,
            rows=rows,
            sign_in=await SignIn.of_run(journal, cfg, tenant_id, run_id, opts.actor),
        )
        await _finish(journal, run_id, result, counts, log)
    finally:
        await _close_targets(tenant_id, targets)


async def apply_held(
    journal: Journal, cfg: LoadedConfig, tenant_id: str, run_id: int, opts: RunOptions
) -> None:
    """Apply a plan that the guard held and an operator approved."""
    lease = await _lease(journal, tenant_id, opts.actor, opts.lease_ttl)
    try:
        log = RunLog(journal, tenant_id, run_id)
        log("info", f"plan approved by {opts.actor}; applying it")
        async with LeaseHeartbeat(journal, lease, opts.lease_ttl, own_journal=opts.lease_journal):
            await _continue_run(
                journal, cfg, tenant_id, run_id, lease, opts, log, statuses=("pending",)
            )
    finally:
        await journal.release_lease(lease)


async def retry_items(
    journal: Journal,
    cfg: LoadedConfig,
    tenant_id: str,
    op_rows: Sequence[OperationRecord],
    opts: RunOptions,
) -> int:
    """Apply failed, dead or blocked items again in a new run; returns its id."""
    tenant = cfg.tenant(tenant_id)
    lease = await _lease(journal, tenant_id, opts.actor, opts.lease_ttl)
    try:
        async with LeaseHeartbeat(journal, lease, opts.lease_ttl, own_journal=opts.lease_journal):
            return await _retry_items(journal, cfg, tenant_id, tenant, op_rows, lease, opts)
    finally:
        await journal.release_lease(lease)


async def _retry_items(
    journal: Journal,
    cfg: LoadedConfig,
    tenant_id: str,
    tenant: TenantConfig,
    op_rows: Sequence[OperationRecord],
    lease: Lease,
    opts: RunOptions,
) -> int:
    ops = await _with_failed_dependencies(journal, op_rows)
    names = sorted({op.target for op in ops})
    run_id = await journal.create_run(
        tenant_id, trigger=opts.trigger, actor=opts.actor, dry_run=False, targets=names
    )
    log = RunLog(journal, tenant_id, run_id)
    log("info", f"retrying {len(ops)} item(s) for {opts.actor}")
    renumber = {op.id: i for i, op in enumerate(ops, start=1)}
    copies = [
        op._replace(
            seq=renumber[op.id],
            id=0,
            attempts=0,
            depends_on=tuple(renumber[d] for d in op.depends_on if d in renumber),
        )
        for op in ops
    ]
    await journal.supersede([op.id for op in ops])
    stored = await journal.store_operations(run_id, tenant_id, copies, supersede=False)
    await journal.update_run(run_id, counts={"planned": len(stored)})
    targets = {n: build_target(cfg, tenant_id, tenant, n) for n in names}
    try:
        result = await _execute(
            journal,
            tenant_id,
            run_id,
            lease,
            targets,
            stored,
            opts,
            log,
            sign_in=await SignIn.of_run(journal, cfg, tenant_id, run_id, opts.actor),
        )
        await _finish(journal, run_id, result, {"planned": len(stored)}, log)
    finally:
        await _close_targets(tenant_id, targets)
    return run_id


async def _with_failed_dependencies(
    journal: Journal, op_rows: Sequence[OperationRecord]
) -> list[Operation]:
    """The items asked for, plus the unfinished items they wait on (depends_on holds seqs of
    the original run, translated here to row ids)."""
    chosen: dict[int, Operation] = {}
    queue = list(op_rows)
    seen_runs: dict[tuple[int, str], dict[int, OperationRecord]] = {}
    while queue:
        record = queue.pop()
        op = record.op
        if op.id in chosen:
            continue
        key = (record.run_id, op.target)
        if key not in seen_runs:
            all_records = await journal.list_operations(record.run_id, limit=10**9)
            seen_runs[key] = {r.op.seq: r for r in all_records if r.op.target == op.target}
        by_seq = seen_runs[key]
        dep_ids = []
        for d in op.depends_on:
            dep = by_seq.get(d)
            if dep is None:
                continue
            if dep.status is not OpStatus.DONE:
                queue.append(dep)
                dep_ids.append(dep.op.id)
        chosen[op.id] = op._replace(depends_on=tuple(dep_ids))
    return sorted(chosen.values(), key=lambda o: o.id)
