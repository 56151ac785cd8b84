"""ESS's own CPU per write call: one tenant's first sync and next term against a Microsoft 365
sandbox in a process of its own, with the sandbox's limits and ESS's pacing raised.

The sandbox's work (TLS, parsing, its state) runs in a child process, so this process's CPU
(user + system, ``time.process_time``) is ESS's: reading the source, planning, the journal
(SQLite here), the executor and the HTTP client. Divided by the write calls the sandbox counted
(each POST, PATCH and DELETE, each inner request of a ``$batch``, the envelope not), it says how
many tenants one core can drive at Microsoft's published rate (20 writes per second a tenant:
the hosted goal is at most 0.5 ms a write call, 100 tenants a core). ESS's modules are
imported before the runs, as in a worker that has run before. ``--profile FILE`` writes
a cProfile of ESS's process for both runs and prints where its time went.

    nice .venv/bin/python benchmarks/write_cpu.py --size small
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib
import multiprocessing
import os
import pstats
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from apply_harness import TENANT, write_ess_toml

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings
from adapters.microsoft.sandbox.settings import SandboxInfo
from adapters.ss12000.sample.command import SAMPLE
from engine.ops import Ops
from engine.plugins import SampleRequest

SECRET_ENV = "ESS_BENCH_WRITE_CPU_SECRET"
GOAL_MS = 0.5
RAISED = SandboxSettings(
    latency_ms=30.0,
    directory_write_limit=10**9,
    team_create_per_second=10**6,
    team_operation_delay_s=0.0,
)


def _serve(settings: SandboxSettings, pipe: Connection) -> None:
    """The child: the sandbox, until the parent says stop (or is gone)."""
    with MicrosoftSandbox(settings=settings) as sb:
        pipe.send(sb.info)
        with contextlib.suppress(EOFError):
            pipe.recv()


@contextlib.contextmanager
def sandbox_process(settings: SandboxSettings) -> Iterator[SandboxInfo]:
    context = multiprocessing.get_context("spawn")
    pipe, child = context.Pipe()
    process = context.Process(target=_serve, args=(settings, child), daemon=True)
    process.start()
    child.close()
    try:
        if not pipe.poll(60):
            raise RuntimeError("the Microsoft sandbox process did not start")
        yield pipe.recv()
    finally:
        with contextlib.suppress(OSError):
            pipe.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()


def write_calls(info: SandboxInfo) -> int:
    with httpx.Client(base_url=info.inspect_url, verify=info.ca_path) as http:
        return int(http.get("/stats", timeout=30).raise_for_status().json()["write_requests"])


async def one_run(config: Path) -> str:
    async with await Ops.open(config, actor="benchmark") as ops:
        summary = await ops.sync(TENANT)
    return summary.status


def measured(label: str, info: SandboxInfo, config: Path, prof: cProfile.Profile | None) -> None:
    before = write_calls(info)
    cpu, wall = time.process_time(), time.monotonic()
    if prof is not None:
        prof.enable()
    status = asyncio.run(one_run(config))
    if prof is not None:
        prof.disable()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    writes = write_calls(info) - before
    per = cpu / max(writes, 1) * 1000
    print(
        f"  {label:<15}{status:<10} wall {wall:6.1f} s   ESS CPU {cpu:6.2f} s   "
        f"write calls {writes:6,}   CPU per write call {per:.2f} ms (goal {GOAL_MS} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", help="sample municipality size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--poll-s", type=float, default=2.0, help="team_poll_interval_s (Microsoft: 30)"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of ESS's process here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ess-bench-write-cpu-"))
    data = workdir / "data"
    day = date.today().isoformat()
    counts = SAMPLE.run(SampleRequest(out=data, size=args.size, seed=args.seed, as_of=day))
    print(f"sample ({args.size}): " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    # a worker has its modules loaded: their import is no cost of a write call
    importlib.import_module("engine.runner")
    importlib.import_module("adapters.microsoft.target")
    importlib.import_module("adapters.ss12000.source")
    prof = cProfile.Profile() if args.profile else None
    with sandbox_process(RAISED) as info:
        os.environ[SECRET_ENV] = info.client_secret
        table = {
            "type": "microsoft",
            "tenant_id": info.tenant_id,
            "client_id": info.client_id,
            "client_secret": f"env:{SECRET_ENV}",
            "authority": info.authority,
            "graph_url": info.graph_url,
            "verify": info.ca_path,
            "domain": "skola.example",
            "max_concurrency": 8,
            "team_poll_interval_s": args.poll_s,
            "write_limit": 10**9,
        }
        config = write_ess_toml(workdir / "ess.toml", data, "microsoft", table)
        measured("first sync", info, config, prof)
        SAMPLE.run(SampleRequest(out=data, advance="term"))
        measured("next term", info, config, prof)
    if prof is not None and args.profile is not None:
        prof.dump_stats(args.profile)
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
