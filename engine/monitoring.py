"""Metrics and health of a long-running ESS process, for Prometheus and a load balancer.

The numbers come from the journal (so they are the same whichever process serves them) and are
refreshed by the process's own event loop every :data:`REFRESH_S`; an HTTP thread serves them
(``/metrics``, Prometheus text) with ``/healthz`` beside it. ``/healthz`` answers 503 naming
each problem: a scheduled run missed by more than the configured margin, a journal that cannot
be written (the refresh writes a heartbeat), or a refresh that stopped coming (the event loop
is stuck).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from engine.journal import Journal, JournalError
from engine.tenant_scope import EVERY_TENANT, TenantScope

REFRESH_S = 15.0
TROUBLE = ("failed", "dead", "blocked")


TRAFFIC_KINDS = (
    ("requests", "HTTP requests the target's client sent (each attempt counts)."),
    ("retries", "Requests the target's client sent again (after a 429, a 5xx or no answer)."),
    ("throttled", "429 answers the target's client met (inside a batch too)."),
)


class TrafficLedger:
    """The targets' HTTP traffic in this process, per tenant and target: what each run's
    target clients counted (the kit's HttpClient sees every 429 and every retry), added up
    when the run closes its targets. Process-local, as Prometheus counters are."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, tenant: str, target: str, counts: Mapping[str, int]) -> None:
        if not counts:
            return
        with self._lock:
            totals = self._totals.setdefault((tenant, target), {})
            for kind, n in counts.items():
                totals[kind] = totals.get(kind, 0) + int(n)

    def snapshot(self) -> dict[tuple[str, str], dict[str, int]]:
        with self._lock:
            return {k: dict(v) for k, v in self._totals.items()}


TRAFFIC = TrafficLedger()
"""The process's ledger: the runner adds to it, every :class:`Monitor` of the process shows it."""


class _TrafficCollector:
    """``ess_target_http_{requests,retries,throttled}_total`` from a :class:`TrafficLedger`."""

    def __init__(self, ledger: TrafficLedger, tenants: TenantScope = EVERY_TENANT) -> None:
        self.ledger, self.tenants = ledger, tenants

    def collect(self) -> list[Metric]:
        totals = {k: v for k, v in self.ledger.snapshot().items() if self.tenants.allows(k[0])}
        out: list[Metric] = []
        for kind, text in TRAFFIC_KINDS:
            family = CounterMetricFamily(
                f"ess_target_http_{kind}", text, labels=["tenant", "target"]
            )
            for (tenant, target), counts in sorted(totals.items()):
                family.add_metric([tenant, target], counts.get(kind, 0))
            out.append(family)
        return out


class Monitor:
    """The metrics registry and the health of one process, fed by :meth:`refresh`."""

    def __init__(
        self,
        journal: Journal,
        journal_path: Path,
        *,
        process: str,
        missed_run_margin_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_s: float = REFRESH_S,
        traffic: TrafficLedger = TRAFFIC,
        tenants: TenantScope = EVERY_TENANT,
    ) -> None:
        """``tenants``: those the process's OS account serves (``[operators.ACCOUNT]``); the
        numbers name no other tenant."""
        self.journal, self.journal_path, self.process = journal, journal_path, process
        self.tenants = tenants
        self.margin = timedelta(seconds=missed_run_margin_s)
        self.clock, self.refresh_s = clock, refresh_s
        self._lock = threading.Lock()
        self._due: dict[str, datetime] = {}
        self._running: set[str] = set()
        self._journal_problem: str | None = None
        self._refreshed: datetime | None = None
        r = self.registry = CollectorRegistry()
        r.register(_TrafficCollector(traffic, tenants))
        self.runs = Gauge(
            "ess_runs", "Runs in the journal by status.", ["tenant", "status"], registry=r
        )
        self.operations = Gauge(
            "ess_last_run_operations",
            "Operations of the tenant's latest run by status, action and kind.",
            ["tenant", "status", "action", "kind"],
            registry=r,
        )
        self.failed = Gauge(
            "ess_failed_items",
            "Failed, dead and blocked items no later plan replaced.",
            ["tenant"],
            registry=r,
        )
        self.held = Gauge(
            "ess_held_plans",
            "Plans held by the guard waiting for approval.",
            ["tenant"],
            registry=r,
        )
        self.last_success = Gauge(
            "ess_last_success_timestamp_seconds",
            "When the tenant's latest succeeded run finished (Unix time).",
            ["tenant"],
            registry=r,
        )
        self.last_duration = Gauge(
            "ess_last_run_duration_seconds",
            "How long the tenant's latest finished run took.",
            ["tenant"],
            registry=r,
        )
        self.next_run = Gauge(
            "ess_scheduler_next_run_timestamp_seconds",
            "When the scheduler runs the tenant next (Unix time).",
            ["tenant"],
            registry=r,
        )
        self.journal_size = Gauge(
            "ess_journal_size_bytes", "The journal's size on disk, with its WAL.", registry=r
        )
        self.notices = Gauge(
            "ess_notifications_open",
            "Notifications of the tenant in the outbox not yet settled.",
            ["tenant"],
            registry=r,
        )
        self.healthy = Gauge("ess_healthy", "1 when /healthz answers 200, else 0.", registry=r)
        self.refreshed = Gauge(
            "ess_metrics_refreshed_timestamp_seconds",
            "When these numbers were last read from the journal (Unix time).",
            registry=r,
        )

    # -------------------------------------------------------------- fed by the scheduler
    def scheduled(self, due: Mapping[str, datetime]) -> None:
        """The next due time of each scheduled tenant."""
        due = {t: when for t, when in due.items() if self.tenants.allows(t)}
        with self._lock:
            self._due = due
        self.next_run.clear()
        for tenant, when in due.items():
            self.next_run.labels(tenant).set(when.timestamp())

    def running(self, tenant: str, on: bool) -> None:
        with self._lock:
            (self._running.add if on else self._running.discard)(tenant)

    # -------------------------------------------------------------- from the journal
    async def refresh(self) -> None:
        """Read the numbers from the journal and write a heartbeat to prove it is writable."""
        try:
            await self.journal.heartbeat(self.process)
            problem = None
        except JournalError as exc:
            problem = f"the journal cannot be written: {exc}"
        served = self.tenants.allows
        counts = {t: c for t, c in (await self.journal.run_counts()).items() if served(t)}
        last = {t: r for t, r in (await self.journal.last_runs()).items() if served(t)}
        trouble = await self.journal.trouble_counts()
        held = await self.journal.list_runs(None, statuses=["held"], limit=10_000)
        self.runs.clear()
        for tenant, by_status in counts.items():
            for status, n in by_status.items():
                self.runs.labels(tenant, status).set(n)
        self.operations.clear()
        self.last_duration.clear()
        for tenant, run in last.items():
            for c in await self.journal.operation_counts(run.id):
                self.operations.labels(tenant, c.status, c.action, c.kind).set(c.count)
            if run.finished_at is not None:
                seconds = (run.finished_at - run.started_at).total_seconds()
                self.last_duration.labels(tenant).set(seconds)
        self.last_success.clear()
        for tenant in counts:
            ok = await self.journal.list_runs(tenant, statuses=["succeeded"], limit=1)
            if ok and ok[0].finished_at is not None:
                self.last_success.labels(tenant).set(ok[0].finished_at.timestamp())
        self.failed.clear()
        self.held.clear()
        for tenant in counts:
            self.failed.labels(tenant).set(trouble.get(tenant, 0))
            self.held.labels(tenant).set(sum(1 for r in held if r.tenant == tenant))
        self.journal_size.set(_size(self.journal_path))
        notices = Counter(n.tenant for n in await self.journal.open_notices(limit=100_000))
        self.notices.clear()
        for tenant in sorted(set(counts) | {t for t in notices if served(t)}):
            self.notices.labels(tenant).set(notices.get(tenant, 0))
        now = self.clock()
        with self._lock:
            self._journal_problem = problem
            self._refreshed = now
        self.refreshed.set(now.timestamp())
        self.healthy.set(0 if self.problems() else 1)

    # -------------------------------------------------------------- health
    def problems(self) -> list[str]:
        """Why the process is unhealthy; empty when it is fine."""
        now = self.clock()
        with self._lock:
            due, running = dict(self._due), set(self._running)
            journal, refreshed = self._journal_problem, self._refreshed
        out = [journal] if journal else []
        if refreshed is None:
            out.append("no numbers read from the journal yet")
        elif now - refreshed > timedelta(seconds=3 * self.refresh_s) + self.margin:
            out.append(
                f"the numbers were last read at {refreshed:%H:%M:%S} UTC: the process is stuck"
            )
        for tenant, when in sorted(due.items()):
            late = now - when
            if tenant not in running and late > self.margin:
                out.append(
                    f"{tenant}: the run due at {when:%Y-%m-%d %H:%M} UTC was missed by "
                    f"{int(late.total_seconds())} s"
                )
        return out

    def metrics_text(self) -> bytes:
        self.healthy.set(0 if self.problems() else 1)
        return generate_latest(self.registry)


def _size(path: Path) -> int:
    total = 0
    for p in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


async def keep_fresh(monitor: Monitor, stop: asyncio.Event) -> None:
    """Refresh ``monitor`` every ``refresh_s`` until ``stop``; a failed refresh leaves the
    numbers stale, which /healthz reports."""
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await monitor.refresh()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=monitor.refresh_s)


class MetricsServer:
    """``/metrics`` and ``/healthz`` of a :class:`Monitor`, served from a thread."""

    def __init__(self, monitor: Monitor, host: str, port: int) -> None:
        handler = type("Handler", (_Handler,), {"monitor": monitor})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    monitor: Monitor

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, self.monitor.metrics_text(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            problems = self.monitor.problems()
            text = "\n".join(problems) if problems else "ok"
            self._answer(503 if problems else 200, (text + "\n").encode(), "text/plain")
        else:
            self._answer(404, b"not found: /metrics or /healthz\n", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None
