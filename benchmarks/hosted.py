"""Hosted mode's figures: storing the large first plan on PostgreSQL against SQLite, and
(``--workers``) the workers' runs per hour, a dead worker's run resuming, and ESS's CPU per
write call (benchmarks/hosted_workers.py says how each is measured).

The first sync of a municipality is its largest plan (2 million operations at large size). A
run stores it in one transaction before anything is applied (``Journal.store_plans``), so its
cost is the journal's heaviest write. The plan is made once (as benchmarks/plan.py makes it)
and then stored into a fresh SQLite journal file and into a fresh PostgreSQL database, in
alternating rounds, each journal opened anew, so both meet the machine alike. Goal: PostgreSQL
within 2 × SQLite.

PostgreSQL is ``--dsn`` (or ``ESS_BENCH_POSTGRES``): a database the benchmark may create and
drop databases beside. Without one it starts a throw-away cluster as the tests do
(tests/pg_cluster.py), with ``fsync`` ON as a real server has, on the same disk as the SQLite
file (whose ``synchronous=FULL`` also syncs).

    python benchmarks/hosted.py --size large            # generates into benchmarks/out/ once
    python benchmarks/hosted.py --size medium --rounds 3
    python benchmarks/hosted.py --size medium --json    # one JSON line, for scripts
    nice python benchmarks/hosted.py --workers --tenants 100   # the workers' figures (long)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.plan import AS_OF, NoCache, ensure_dataset, microsoft_target  # noqa: E402
from engine.journal import Journal, SqliteJournal  # noqa: E402
from engine.journal.postgres import PostgresJournal  # noqa: E402
from engine.perf import gc_paused  # noqa: E402
from engine.plan import Plan  # noqa: E402
from engine.planner import PlanInput, plan  # noqa: E402
from engine.secrets import SecretResolver  # noqa: E402
from engine.source import SourceContext  # noqa: E402
from engine.target import ObservedState  # noqa: E402
from tests.pg_cluster import OwnCluster, PgServer, find_binaries  # noqa: E402


def first_plan(size: str, seed: int) -> Plan:
    """The Microsoft target's first sync of the municipality: everything to create."""
    from adapters.ss12000.source import SS12000Source

    folder = ensure_dataset(size, seed)
    source = SS12000Source.from_config(
        {"type": "ss12000", "path": str(folder)}, SecretResolver(base_dir=folder)
    )
    read = asyncio.run(source.read(SourceContext("bench", NoCache(), AS_OF), full=True))
    target = microsoft_target()
    with gc_paused():
        desired = target.desired(read.snapshot)
        made = plan(
            PlanInput(
                "microsoft",
                target.kinds,
                target.links,
                desired,
                ObservedState({}, {}),
                datetime.now(UTC),
            )
        )
    return made


async def store(journal: Journal, first: Plan) -> float:
    """Seconds to store the plan in one transaction, as a run does."""
    run_id = await journal.create_run(
        "bench", trigger="bench", actor="bench", dry_run=False, targets=["microsoft"]
    )
    gc.collect()
    t = time.perf_counter()
    with gc_paused():
        stored = await journal.store_plans(run_id, "bench", [first])
    seconds = time.perf_counter() - t
    assert len(stored) == len(first)
    return seconds


async def sqlite_round(first: Plan, folder: Path) -> float:
    path = folder / f"bench-{time.monotonic_ns()}.db"
    journal = await SqliteJournal.open(path)
    try:
        return await store(journal, first)
    finally:
        await journal.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def postgres_round(first: Plan, server: PgServer) -> float:
    name = server.create_database()
    try:
        journal = await PostgresJournal.connect(server.dsn(name))
        try:
            return await store(journal, first)
        finally:
            await journal.close()
    finally:
        server.drop_database(name)


def run(size: str, seed: int, rounds: int, dsn: str | None) -> dict[str, Any]:
    t = time.perf_counter()
    first = first_plan(size, seed)
    figures: dict[str, Any] = {
        "size": size,
        "operations": len(first),
        "plan_s": round(time.perf_counter() - t, 1),
    }
    cluster = None
    if dsn:
        server = PgServer(dsn)
    else:
        bindir = find_binaries()
        if bindir is None:
            raise SystemExit("no PostgreSQL binaries (initdb); pass --dsn")
        cluster = OwnCluster(bindir, durable=True)
        server = cluster.start()
    figures["postgres"] = "given --dsn" if dsn else f"own cluster, fsync on ({bindir})"
    sqlite_s: list[float] = []
    postgres_s: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ess-bench-", dir=ROOT / "benchmarks") as tmp:
            for _ in range(rounds):
                sqlite_s.append(asyncio.run(sqlite_round(first, Path(tmp))))
                postgres_s.append(asyncio.run(postgres_round(first, server)))
    finally:
        if cluster is not None:
            cluster.stop()
    figures["sqlite_s"] = [round(s, 2) for s in sqlite_s]
    figures["postgres_s"] = [round(s, 2) for s in postgres_s]
    figures["sqlite_best_s"] = round(min(sqlite_s), 2)
    figures["postgres_best_s"] = round(min(postgres_s), 2)
    figures["ratio_best"] = round(min(postgres_s) / min(sqlite_s), 2)
    figures["ratio_rounds"] = [round(p / s, 2) for p, s in zip(postgres_s, sqlite_s, strict=True)]
    figures["postgres_rows_per_s"] = round(len(first) / min(postgres_s))
    figures["sqlite_rows_per_s"] = round(len(first) / min(sqlite_s))
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="large", choices=["small", "medium", "large"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dsn", default=os.environ.get("ESS_BENCH_POSTGRES"))
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--workers", action="store_true", help="the workers' figures instead")
    ap.add_argument("--tenants", type=int, default=100, help="with --workers")
    ap.add_argument("--medium", default="1500", help="with --workers: every fourth tenant's pupils")
    ap.add_argument(
        "--poll-s", type=float, default=30.0, help="with --workers: team_poll_interval_s"
    )
    args = ap.parse_args()
    if args.workers:
        from benchmarks.hosted_workers import measure

        with tempfile.TemporaryDirectory(prefix="ess-bench-workers-") as tmp:
            got = asyncio.run(measure(Path(tmp), args.tenants, args.medium, args.poll_s))
        print(json.dumps(got))
        return
    figures = run(args.size, args.seed, args.rounds, args.dsn)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"first plan of a {figures['size']} municipality: {figures['operations']} operations")
    print(f"PostgreSQL: {figures['postgres']}")
    print(
        f"store on SQLite       best {figures['sqlite_best_s']:>7} s  "
        f"({figures['sqlite_rows_per_s']} rows/s)  rounds {figures['sqlite_s']}"
    )
    print(
        f"store on PostgreSQL   best {figures['postgres_best_s']:>7} s  "
        f"({figures['postgres_rows_per_s']} rows/s)  rounds {figures['postgres_s']}"
    )
    print(
        f"PostgreSQL / SQLite   {figures['ratio_best']} x best against best "
        f"(each round: {', '.join(f'{r} x' for r in figures['ratio_rounds'])}); goal: within 2 x"
    )


if __name__ == "__main__":
    main()
