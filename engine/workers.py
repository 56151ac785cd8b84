"""Hosted runs as procrastinate jobs: ``ess worker`` runs them, ``ess scheduler --hosted``
queues them from each tenant's cron.

One run per tenant at a time on every machine: each job carries the tenant's ``lock`` (no two
jobs of a tenant run at once) and ``queueing_lock`` (at most one waiting), and the run itself
still takes the journal's lease with its fencing token, checked on every write, since a queue
can hand a job to a second worker while the first is only stalled. The lease is short
(``[workers] lease_s``) and renewed by the run's heartbeat (:mod:`engine.lease_heartbeat`), so
a run whose worker died on another machine is taken over soon after its job is found stalled.

procrastinate's known traps, and how ESS stays out of them:

- **a dead worker's job blocks its lock**: a job left ``doing`` by a killed worker keeps the
  tenant's lock for ever. :meth:`Workers.recover_stalled` (run by the hosted scheduler every
  sweep) finds jobs whose worker sent no heartbeat for ``stalled_after_s`` and puts them back
  to ``todo``; the next worker resumes the run from the journal (in-flight items are read back
  from the target before anything is sent again).
- **a far-deferred job blocks the lock's queue**: a ``todo`` job of a lock scheduled in the
  future holds back every later job of that lock. ESS never queues a run ahead of time: the
  scheduler queues a run when it is due; the one deferral, after a held lease, is no longer
  than the lease's remaining time (at most ``[workers] lease_s``).
- **retries combined with queueing locks**: a job retried back to ``todo`` while another job
  of the tenant waits breaks the queueing lock's unique index (the retry fails, the job stays
  ``doing`` and blocks the lock). ESS's task has no retry strategy (a failed run is in the
  journal and the next scheduled run repeats it), and a stalled job whose tenant already has a
  run waiting is closed as failed instead of retried: the waiting run resumes the same work.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate import exceptions as pq_exceptions
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo

from engine.config import LoadedConfig
from engine.ops import Busy, Ops
from engine.scheduler import SchedulerEvent, next_run, schedule_table

log = logging.getLogger("ess.workers")

QUEUE = "ess-runs"
TASK = "ess.sync_tenant"


class WorkersError(ValueError):
    """Hosted workers cannot be used with this configuration (no PostgreSQL journal)."""


def lock_of(tenant: str) -> str:
    return f"ess-tenant:{tenant}"


def queue_conninfo(cfg: LoadedConfig) -> str:
    """The queue lives in the journal's PostgreSQL database (its own tables, ``procrastinate_*``):
    one database to deploy, back up and fail over."""
    url, ref = cfg.config.journal.url, cfg.config.journal.password
    if not url:
        raise WorkersError(
            "hosted workers need the journal on PostgreSQL: set [journal] url (docs/hosted.md)"
        )
    if ref:
        return make_conninfo(url, password=cfg.secrets().resolve(ref).reveal())
    return url


@dataclass(frozen=True)
class Recovered:
    """What one sweep of stalled jobs did."""

    retried: tuple[int, ...]  # job ids put back to todo
    closed: tuple[int, ...]  # job ids closed: their tenant already had a run waiting


class Workers:
    """The procrastinate app of one configuration, with the run task registered."""

    def __init__(self, cfg: LoadedConfig, *, actor_prefix: str = "worker") -> None:
        self.cfg = cfg
        self.actor_prefix = actor_prefix
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=queue_conninfo(cfg))
        )
        self.task = self.app.task(name=TASK, queue=QUEUE, pass_context=True)(self._sync)

    async def _sync(self, context: procrastinate.JobContext, tenant: str) -> str:
        """One run of ``tenant``, as the job's worker."""
        worker = context.worker_name or "worker"
        async with await Ops.open(self.cfg, actor=f"{self.actor_prefix}:{worker}") as ops:
            lease_s = self.cfg.config.workers.lease_s
            try:
                run = await ops.sync(tenant, trigger="scheduled", lease_s=lease_s)
            except Busy as exc:
                # another worker holds the lease (stalled, or its job was handed on): come
                # back when the lease can have expired, unless a run already waits
                log.warning("%s: %s; queued again", tenant, exc)
                await self.enqueue(tenant, delay_s=busy_delay(exc.expires_in, lease_s))
                return "busy"
        return run.status

    async def install(self) -> None:
        """procrastinate's tables in the journal's database, once."""
        async with self.app.open_async():
            if not await self.app.job_manager.check_connection_async():
                await self.app.schema_manager.apply_schema_async()

    async def enqueue(self, tenant: str, *, delay_s: float | None = None) -> bool:
        """Queues a run of ``tenant``; False when one already waits (its queueing lock)."""
        job = self.task.configure(
            lock=lock_of(tenant),
            queueing_lock=lock_of(tenant),
            schedule_in={"seconds": math.ceil(delay_s)} if delay_s else None,
        )
        try:
            await job.defer_async(tenant=tenant)
        except pq_exceptions.AlreadyEnqueued:
            return False
        return True

    async def recover_stalled(self, stalled_after_s: float) -> Recovered:
        """Puts jobs whose worker went silent back to ``todo`` (see the module's traps)."""
        manager = self.app.job_manager
        retried: list[int] = []
        closed: list[int] = []
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
            assert job.id is not None
            try:
                await manager.retry_job(job, retry_at=datetime.now(UTC))
                retried.append(job.id)
            except (pg_errors.UniqueViolation, pq_exceptions.ConnectorException) as exc:
                if not _queueing_conflict(exc):
                    raise
                await manager.finish_job_by_id_async(
                    job.id, status=procrastinate.jobs.Status.FAILED, delete_job=False
                )
                closed.append(job.id)
        await manager.prune_stalled_workers(stalled_after_s)
        return Recovered(tuple(retried), tuple(closed))

    async def run_worker(self, **options: Any) -> None:
        """A worker on the runs' queue until cancelled (or, ``wait=False``, the queue is
        empty)."""
        options.setdefault("queues", [QUEUE])
        options.setdefault("concurrency", 1)
        await self.app.run_worker_async(**options)


def busy_delay(expires_in: float | None, lease_s: float) -> float:
    """When to try a tenant whose lease is held again: just after it can have expired (a
    live holder renews it, and the next try finds it held again), never later than one lease
    from now."""
    if expires_in is None:
        return lease_s
    return min(max(expires_in, 0.0) + 1.0, lease_s + 1.0)


def _queueing_conflict(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, pg_errors.UniqueViolation):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def run_hosted_scheduler(
    workers: Workers,
    emit: Callable[[SchedulerEvent], None],
    *,
    once: bool = False,
    sweep_s: float = 10.0,
    stalled_after_s: float = 30.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Queues each tenant's run when its cron says, and recovers stalled jobs every sweep.

    Several hosted schedulers (one per machine, for failover) queue each run once between
    them: the tenant's queueing lock refuses the second. ``once`` queues every scheduled
    tenant now and stops.
    """
    cfg = workers.cfg
    now = clock()
    due = {e.tenant: (now if once else e.next_run) for e in schedule_table(cfg, now)}
    async with workers.app.open_async():
        while True:
            now = clock()
            for tenant, at in sorted(due.items()):
                if at > now:
                    continue
                queued = await workers.enqueue(tenant)
                emit(
                    SchedulerEvent(
                        "started" if queued else "skipped",
                        tenant,
                        now,
                        f"{tenant}: run queued"
                        if queued
                        else f"{tenant}: a run already waits in the queue",
                    )
                )
                t = cfg.config.tenants[tenant]
                due[tenant] = next_run(t.schedule or "", t.timezone, now)
            recovered = await workers.recover_stalled(stalled_after_s)
            for job_id in recovered.retried:
                emit(SchedulerEvent("waiting", None, now, f"job {job_id} stalled: queued again"))
            for job_id in recovered.closed:
                emit(
                    SchedulerEvent(
                        "waiting", None, now, f"job {job_id} stalled: its tenant's next run waits"
                    )
                )
            if once:
                return
            await asyncio.sleep(sweep_s)
