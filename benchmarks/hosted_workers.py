"""Hosted workers' figures (``benchmarks/hosted.py --workers``): many tenants, each with a
next-term change, run by procrastinate workers against Microsoft 365 sandboxes.

Every tenant is a sample municipality of its own (SS 12000 folder; every fourth a larger one)
and a Microsoft 365 sandbox of its own (its own rate limits, as each school organiser is its
own Microsoft 365 tenant), all in this process; the workers are separate processes
(benchmarks/hosted_worker.py), the journal and the queue a throw-away PostgreSQL cluster.

1. **Seeding**, once: every tenant's first sync, with the sandboxes' limits and ESS's own
   pacing (``write_limit``) raised and no latency. Then each sample advances one term.
2. **Runs per hour** with 1, 2 and 4 workers, at the published limits (3,000 directory writes
   per 150 s, 10 team creations per second) and 30 ms latency: each worker count runs its own
   group of tenants (in the ratio 1:2:4, so each worker has about as many runs), from the
   first job queued to the last run finished.
3. **A worker's death**: a worker reporting another host name (so its lease can only expire)
   is killed with SIGKILL mid-run; a second worker and the hosted scheduler's sweep (every
   10 s, stalled after 30 s) run as in production. The figure is the time from the kill to the
   second worker holding the tenant's lease (the run resumed). Goal: stalled interval + 30 s.
4. **CPU per write call**: a group of tenants with the sandboxes' limits and ESS's pacing
   raised far above the published ones (30 ms latency kept). The workers' own CPU seconds
   (user + system of the worker processes, from when they were ready to when the last run
   finished: reading the source, planning, the journal, the HTTP client) divided by the write
   calls the sandboxes counted (each POST, PATCH and DELETE, each inner request of a
   ``$batch`` counted, the envelope not). Goal: at most 0.5 ms, so one core drives 100
   tenants at 20 writes per second each (2,000 Graph writes per second).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import psycopg

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings
from adapters.ss12000.sample.command import SAMPLE
from engine.journal.postgres import WRITE_LOCK, PostgresJournal
from engine.plugins import SampleRequest
from engine.workers import Workers
from tests.pg_cluster import OwnCluster, find_binaries

ROOT = Path(__file__).resolve().parents[1]
WRITE_LIMIT, WRITE_WINDOW, TEAMS_PER_S = 3000, 150.0, 10.0
STALLED_AFTER_S, SWEEP_S = 30.0, 10.0  # the hosted scheduler's
RAISED = SandboxSettings(
    latency_ms=0.0,
    directory_write_limit=10**9,
    team_create_per_second=10**6,
    team_operation_delay_s=0.0,
)
PUBLISHED = SandboxSettings(
    latency_ms=30.0,
    directory_write_limit=WRITE_LIMIT,
    directory_write_window_s=WRITE_WINDOW,
    team_create_per_second=TEAMS_PER_S,
    team_operation_delay_s=1.0,
)


@dataclass
class Tenant:
    tid: str
    size: str
    data: Path
    sandbox: MicrosoftSandbox


def sizes(n: int, medium: str) -> list[str]:
    return [medium if i % 4 == 3 else "small" for i in range(n)]


def tenant_toml(t: Tenant, poll_s: float, write_limit: int) -> str:
    info = t.sandbox.info
    return f"""
[tenants.{t.tid}]
source = {{ type = "ss12000", path = "{t.data}" }}

[tenants.{t.tid}.targets.microsoft]
type = "microsoft"
tenant_id = "{info.tenant_id}"
client_id = "{info.client_id}"
client_secret = "env:ESS_BENCH_SECRET_{t.tid.upper()}"
authority = "{info.authority}"
graph_url = "{info.graph_url}"
verify = "{info.ca_path}"
domain = "skola.example"
max_concurrency = 8
team_poll_interval_s = {poll_s}
write_limit = {write_limit}

[tenants.{t.tid}.policy.guard]
objects = {{ share = 1.0, count = 1000000 }}
links = {{ share = 1.0, count = 1000000 }}
"""


def write_config(
    path: Path, dsn: str, tenants: list[Tenant], poll_s: float, *, raised: bool
) -> Path:
    """Raised: ESS paces itself far above Microsoft's published write limit too, as the
    sandboxes allow (workers read it when they start, and each phase starts its own)."""
    limit = 10**9 if raised else WRITE_LIMIT
    path.write_text(
        f'[journal]\nurl = "{dsn}"\n' + "".join(tenant_toml(t, poll_s, limit) for t in tenants),
        encoding="utf-8",
    )
    return path


class WorkerProcs:
    """Worker processes; their CPU is counted from when each said it was ready."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.cpu_at_ready: dict[str, float] = {}

    def start(self, name: str, *, host: str = "", concurrency: int = 1) -> None:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks/hosted_worker.py"),
                str(self.config),
                name,
                host,
                str(concurrency),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if b"ready" not in line:
            raise SystemExit(f"worker {name} did not start")
        self.procs[name] = proc
        self.cpu_at_ready[name] = cpu_of(proc.pid)

    def cpu_s(self) -> float:
        """CPU seconds the live workers used since they were ready."""
        return sum(cpu_of(p.pid) - self.cpu_at_ready[n] for n, p in self.procs.items())

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)


def cpu_of(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


class Runs:
    """Polls the journal for the runs that finished since a moment."""

    def __init__(self, journal: PostgresJournal, dsn: str, pg_cpu: Callable[[], float]) -> None:
        self.journal, self.dsn, self.pg_cpu = journal, dsn, pg_cpu

    async def run_ids(self, tids: list[str]) -> set[int]:
        return {r.id for t in tids for r in await self.journal.list_runs(t)}

    async def wait_finished(self, tids: list[str], before: set[int], limit_s: float) -> float:
        """Seconds until each tenant has a run, not among ``before``, that finished."""
        started = time.monotonic()
        waiting = set(tids)
        while waiting:
            if time.monotonic() - started > limit_s:
                raise SystemExit(f"runs not finished after {limit_s:.0f} s: {sorted(waiting)}")
            for t in sorted(waiting):
                runs = [r for r in await self.journal.list_runs(t) if r.id not in before]
                if runs and all(r.status != "running" for r in runs):
                    statuses = {r.status for r in runs}
                    if statuses - {"succeeded"}:
                        print(f"    {t}: {sorted(statuses)}")
                    waiting.discard(t)
            await asyncio.sleep(0.5)
        return time.monotonic() - started


class LockWaits:
    """Samples how many journal writers wait for the one advisory write lock, every 0.2 s."""

    SQL = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s AND objid = %s"
    )

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples: list[int] = []

    async def run(self) -> None:
        key = WRITE_LOCK & 0xFFFFFFFFFFFFFFFF
        args = (key >> 32, key & 0xFFFFFFFF)
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            while True:
                row = await (await conn.execute(self.SQL, args)).fetchone()
                self.samples.append(int(row[0]) if row else 0)
                await asyncio.sleep(0.2)

    def figures(self) -> dict[str, float]:
        n = max(len(self.samples), 1)
        return {
            "lock_waiting_mean": round(sum(self.samples) / n, 3),
            "lock_waited_share": round(sum(1 for x in self.samples if x) / n, 3),
        }


def set_limits(tenants: list[Tenant], settings: SandboxSettings) -> None:
    for t in tenants:
        t.sandbox.settings = replace(settings, seed=t.sandbox.settings.seed)


def writes(tenants: list[Tenant]) -> int:
    return sum(t.sandbox.stats().write_requests for t in tenants)


@contextlib.contextmanager
def sandboxes(n: int) -> Iterator[list[MicrosoftSandbox]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(MicrosoftSandbox(settings=replace(RAISED, seed=i + 1)))
            for i in range(n)
        ]


async def batch(
    workers: Workers,
    procs: WorkerProcs,
    runs: Runs,
    group: list[Tenant],
    n_workers: int,
    *,
    concurrency: int = 1,
    limit_s: float = 7200,
) -> dict[str, Any]:
    """Run one next-term run of each tenant of ``group`` with ``n_workers`` workers."""
    tids = [t.tid for t in group]
    for i in range(n_workers):
        procs.start(f"w{n_workers}-{i}", concurrency=concurrency)
    before = await runs.run_ids(tids)
    writes_before = writes(group)
    cpu_self = cpu_of(os.getpid())
    pg_before = runs.pg_cpu()
    waits = LockWaits(runs.dsn)
    sampler = asyncio.create_task(waits.run())
    for tid in tids:
        await workers.enqueue(tid)
    try:
        took = await runs.wait_finished(tids, before, limit_s)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    figures: dict[str, Any] = {
        "workers": n_workers,
        "tenants": len(tids),
        "seconds": round(took, 1),
        "runs_per_hour": round(len(tids) / took * 3600),
        "write_calls": writes(group) - writes_before,
        "worker_cpu_s": round(procs.cpu_s(), 1),
        "sandbox_and_bench_cpu_s": round(cpu_of(os.getpid()) - cpu_self, 1),
        "postgres_cpu_s": round(runs.pg_cpu() - pg_before, 1),
        **waits.figures(),
    }
    figures["worker_cpu_ms_per_write"] = round(
        1000 * figures["worker_cpu_s"] / max(figures["write_calls"], 1), 3
    )
    procs.stop_all()
    return figures


async def kill_one(
    workers: Workers, procs: WorkerProcs, runs: Runs, t: Tenant, journal: PostgresJournal
) -> float:
    """Seconds from a worker's SIGKILL mid-run to another worker holding the tenant's lease."""
    procs.start("doomed", host="another-machine")
    before = writes([t])
    await workers.enqueue(t.tid)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # until it is mid-run, writing
        if writes([t]) - before >= 20:
            break
        await asyncio.sleep(0.05)
    holder = await journal.lease_holder(t.tid)
    assert holder is not None and "another-machine" in holder.holder, holder
    procs.kill("doomed")
    killed = time.monotonic()
    procs.start("rescuer")  # a worker already running elsewhere; it starts within the stall
    next_sweep = killed  # the scheduler's sweep runs every SWEEP_S at some phase
    while True:
        now = time.monotonic()
        if now >= next_sweep:
            await workers.recover_stalled(STALLED_AFTER_S)
            next_sweep = now + SWEEP_S
        holder = await journal.lease_holder(t.tid)
        if holder is not None and "rescuer" in holder.holder:
            took = time.monotonic() - killed
            break
        if now - killed > 900:
            raise SystemExit("the run was not resumed in 900 s")
        await asyncio.sleep(0.2)
    await runs.wait_finished([t.tid], await runs.run_ids([]), 1800)
    procs.stop_all()
    return took


def advance(tenants: list[Tenant]) -> None:
    for t in tenants:
        SAMPLE.run(SampleRequest(out=t.data, advance="term"))


async def measure(workdir: Path, n: int, medium: str, poll_s: float) -> dict[str, Any]:
    bindir = find_binaries()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries (initdb) to start a throw-away cluster")
    cluster = OwnCluster(bindir, durable=True)
    server = cluster.start()
    figures: dict[str, Any] = {"tenants": n, "sizes": {}}
    try:
        dsn = server.dsn(server.create_database())
        day = date.today().isoformat()
        t0 = time.monotonic()
        folders = []
        for i, size in enumerate(sizes(n, medium)):
            folder = workdir / f"t{i:03d}"
            SAMPLE.run(SampleRequest(out=folder, size=size, seed=i + 1, as_of=day))
            folders.append((size, folder))
            figures["sizes"][size] = figures["sizes"].get(size, 0) + 1
        print(f"samples: {figures['sizes']} in {time.monotonic() - t0:.0f} s", flush=True)
        with sandboxes(n) as sbs:
            tenants = [
                Tenant(f"t{i:03d}", size, folder, sb)
                for i, ((size, folder), sb) in enumerate(zip(folders, sbs, strict=True))
            ]
            for t in tenants:
                os.environ[f"ESS_BENCH_SECRET_{t.tid.upper()}"] = t.sandbox.info.client_secret
            config = write_config(workdir / "ess.toml", dsn, tenants, poll_s=0.5, raised=True)
            from engine.config import load

            workers = Workers(load(config))
            await workers.install()
            journal = await PostgresJournal.connect(dsn)
            runs = Runs(journal, dsn, cluster.cpu_seconds)
            procs = WorkerProcs(config)
            try:
                async with workers.app.open_async():
                    print("seeding: first syncs, limits raised, no latency", flush=True)
                    seed = await batch(workers, procs, runs, tenants, 4, concurrency=4)
                    figures["seeding"] = seed
                    print(f"  {seed}", flush=True)
                    advance(tenants)
                    write_config(config, dsn, tenants, poll_s=poll_s, raised=False)
                    set_limits(tenants, PUBLISHED)
                    groups = split(tenants)
                    figures["throughput"] = []
                    for k in (1, 2, 4):
                        print(f"{k} worker(s), {len(groups[k])} tenants", flush=True)
                        got = await batch(workers, procs, runs, groups[k], k)
                        figures["throughput"].append(got)
                        print(f"  {got}", flush=True)
                    figures["kills"] = []
                    for t in groups["kill"]:
                        took = await kill_one(workers, procs, runs, t, journal)
                        figures["kills"].append(round(took, 1))
                        print(f"killed mid-run: resumed after {took:.1f} s", flush=True)
                    set_limits(groups["cpu"], replace(RAISED, latency_ms=30.0))
                    write_config(config, dsn, tenants, poll_s=poll_s, raised=True)
                    print(f"CPU per write: {len(groups['cpu'])} tenants, limits raised")
                    cpu = await batch(workers, procs, runs, groups["cpu"], 2)
                    figures["cpu"] = cpu
                    print(f"  {cpu}", flush=True)
            finally:
                procs.stop_all()
                await journal.close()
    finally:
        figures["postgres_cpu_s"] = round(cluster.cpu_seconds(), 1)
        cluster.stop()
    return figures


def split(tenants: list[Tenant]) -> dict[int | str, list[Tenant]]:
    """Groups for 1, 2 and 4 workers (1:2:4 of 84%), two kills (medium), the rest for CPU."""
    mediums = [t for t in tenants if t.size != "small"]
    kill = mediums[-2:]
    rest = [t for t in tenants if t not in kill]
    n = len(tenants)
    a = max(1, round(n * 0.12))
    out: dict[int | str, list[Tenant]] = {
        1: rest[:a],
        2: rest[a : 3 * a],
        4: rest[3 * a : 7 * a],
        "kill": kill,
        "cpu": rest[7 * a :],
    }
    return out
