"""Runs each tenant on its cron schedule (``schedule`` in ess.toml, in the tenant's time zone).

One process runs due tenants until stopped; a tenant already running (its lease held by a
manual run or another scheduler) is skipped with a note, never run twice at once. Hosted
installations with many tenants will move this to a job queue; the contract is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

from engine.config import LoadedConfig
from engine.config import load as load_config
from engine.journal import Journal
from engine.monitoring import MetricsServer, Monitor
from engine.tenant_scope import operator_scope

COURIER_INTERVAL_S = 30.0
"""How often the scheduler delivers the notification outbox (retries wait their backoff)."""


@dataclass(frozen=True)
class ScheduleEntry:
    tenant: str
    schedule: str
    timezone: str
    next_run: datetime  # UTC


@dataclass(frozen=True)
class SchedulerEvent:
    kind: str  # "started", "finished", "skipped", "failed", "waiting", "notified"
    tenant: str | None
    at: datetime
    message: str


def next_run(schedule: str, timezone: str, after: datetime) -> datetime:
    tz = ZoneInfo(timezone)
    nxt: datetime = croniter(schedule, after.astimezone(tz)).get_next(datetime)
    return nxt.astimezone(UTC)


def schedule_table(cfg: LoadedConfig, now: datetime | None = None) -> list[ScheduleEntry]:
    now = now or datetime.now(UTC)
    out = [
        ScheduleEntry(tid, t.schedule, t.timezone, next_run(t.schedule, t.timezone, now))
        for tid, t in cfg.config.tenants.items()
        if t.schedule
    ]
    return sorted(out, key=lambda e: (e.next_run, e.tenant))


async def run_scheduler(
    config: str | Path | None,
    *,
    actor: str = "scheduler",
    on_event: Callable[[SchedulerEvent], None] = lambda e: None,
    once: bool = False,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    courier_interval_s: float = COURIER_INTERVAL_S,
) -> None:
    """Run due tenants until ``stop`` is set (or, with ``once``, run every scheduled tenant
    one time now and return). Between runs, and after each, the notification outbox is
    delivered (:mod:`engine.notify.courier`)."""
    from engine.ops import Busy, Ops, OpsError

    cfg = load_config(config)
    stop = stop or asyncio.Event()
    async with await Ops.open(cfg, actor=actor) as ops:
        monitor = _monitor(cfg, ops.journal, clock) if not once else None

        async def run(tenant: str) -> None:
            on_event(SchedulerEvent("started", tenant, clock(), f"{tenant}: scheduled run"))
            if monitor is not None:
                monitor.running(tenant, True)
            try:
                summary = await ops.sync(tenant, trigger="schedule")
            except Busy as exc:
                on_event(SchedulerEvent("skipped", tenant, clock(), str(exc)))
            except OpsError as exc:
                on_event(SchedulerEvent("failed", tenant, clock(), str(exc)))
            else:
                on_event(
                    SchedulerEvent(
                        "finished", tenant, clock(), f"{tenant}: run {summary.id} {summary.status}"
                    )
                )
            finally:
                if monitor is not None:
                    monitor.running(tenant, False)

        one_courier = asyncio.Lock()  # the timer and a finished run never deliver at once

        async def deliver() -> None:
            try:
                async with one_courier:
                    await ops.send_audit_head()  # queued once a day (audit_head_hours)
                    await ops.send_credential_warnings()  # the targets asked once an hour
                    report = await ops.deliver_notices()
            except Exception as exc:  # the outbox keeps the notices: the next pass tries again
                message = f"notifications: {type(exc).__name__}: {exc}"
                on_event(SchedulerEvent("notified", None, clock(), message))
                return
            if report.delivered or report.failed:
                message = f"notifications: {report.delivered} delivered, {report.failed} failed" + (
                    f", {report.given_up} given up" if report.given_up else ""
                )
                on_event(SchedulerEvent("notified", None, clock(), message))

        async def courier() -> None:
            while not stop.is_set():
                await deliver()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=courier_interval_s)

        if once:
            for entry in schedule_table(cfg, clock()):
                await run(entry.tenant)
            await deliver()
            return
        server = None
        if monitor is not None:
            host, port = cfg.config.metrics.host, metrics_port(cfg)
            try:
                server = MetricsServer(monitor, host, port).start()
            except OSError as exc:
                raise OpsError(
                    f"cannot serve metrics on {host}:{port} ([metrics] in {cfg.path}): "
                    f"{exc.strerror or exc}"
                ) from None
        tasks = [asyncio.create_task(courier())]
        if monitor is not None:
            tasks.append(asyncio.create_task(_refresher(monitor, stop, on_event, clock)))
        try:
            await _loop(cfg, run, deliver, stop, on_event, clock, monitor)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if server is not None:
                server.stop()


def metrics_port(cfg: LoadedConfig) -> int:
    port = cfg.config.metrics.port
    assert port is not None
    return port


def _monitor(cfg: LoadedConfig, journal: Journal, clock: Callable[[], datetime]) -> Monitor | None:
    """The scheduler's metrics and health, when ``[metrics] port`` is set."""
    if cfg.config.metrics.port is None:
        return None
    from engine.ops import os_user

    return Monitor(
        journal,
        cfg.journal_path,
        process="scheduler",
        missed_run_margin_s=cfg.config.metrics.missed_run_margin_s,
        clock=clock,
        tenants=operator_scope(cfg.config, os_user()[0]),
    )


async def _refresher(
    monitor: Monitor,
    stop: asyncio.Event,
    on_event: Callable[[SchedulerEvent], None],
    clock: Callable[[], datetime],
) -> None:
    while not stop.is_set():
        try:
            await monitor.refresh()
        except Exception as exc:  # the numbers go stale and /healthz says so; runs go on
            on_event(SchedulerEvent("notified", None, clock(), f"metrics: {exc}"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=monitor.refresh_s)


async def _loop(
    cfg: LoadedConfig,
    run: Callable[[str], Awaitable[None]],
    deliver: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    on_event: Callable[[SchedulerEvent], None],
    clock: Callable[[], datetime],
    monitor: Monitor | None,
) -> None:
    """Each tenant when it is due, the outbox after each run, until ``stop`` is set."""
    due: dict[str, datetime] = {e.tenant: e.next_run for e in schedule_table(cfg, clock())}
    if monitor is not None:
        monitor.scheduled(due)
    while not stop.is_set() and due:
        tenant, when = min(due.items(), key=lambda kv: (kv[1], kv[0]))
        on_event(
            SchedulerEvent(
                "waiting", tenant, clock(), f"next: {tenant} at {when:%Y-%m-%d %H:%M} UTC"
            )
        )
        delay = (when - clock()).total_seconds()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                break
            except TimeoutError:
                pass
        await run(tenant)
        await deliver()
        t = cfg.config.tenants[tenant]
        assert t.schedule is not None
        due[tenant] = next_run(t.schedule, t.timezone, max(clock(), when))
        if monitor is not None:
            monitor.scheduled(due)
