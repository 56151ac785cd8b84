"""The SDS feed on a generated municipality: how long mapping, SDS's checks and writing the set
take, how big the set is, and whole runs through the engine into a folder over a real SQLite
journal: the first (every row, one delivery), a second with no change (nothing delivered) and
a term later (the differences, one delivery).

    python benchmarks/sds_feed.py [--size medium] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from adapters.kit.sample_snapshot import advance_seed, generate_seed
from adapters.sds.config import SdsConfig
from adapters.sds.files import write_set
from adapters.sds.mapping import build_rows
from adapters.sds.rules import check
from engine.config import TenantPolicy
from engine.plugins import SampleRequest
from engine.roster import RosterPolicy
from engine.testing.conformance import Bench


class _Feed:
    name = "sds"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.inapplicable: dict[str, str] = {}

    def table(self) -> dict[str, Any]:
        return {"type": "sds", "folder": str(self.folder)}

    def env(self) -> dict[str, str]:
        return {}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(size: str, seed: int) -> None:
    today = date.today()
    with tempfile.TemporaryDirectory(prefix="ess-sds-bench-") as tmp:
        base = Path(tmp)
        sample = base / "sample"
        made = generate_seed(
            sample,
            SampleRequest(
                out=sample, size=size, seed=seed, as_of=(today - timedelta(days=150)).isoformat()
            ),
        )
        snap = replace(made, as_of=today)
        print(f"municipality {size}: {snap.counts()}")

        config = SdsConfig(folder=base / "feed")
        started = time.perf_counter()
        rows = build_rows(snap, config, RosterPolicy.of(TenantPolicy()))
        mapped = time.perf_counter()
        checked = check(rows, config.max_rows_per_file)
        checked_at = time.perf_counter()
        fileset = write_set(checked.rows.by_kind)
        written = time.perf_counter()
        size_mb = sum(len(b) for b in fileset.files.values()) / 1e6
        print(
            f"map {mapped - started:.2f} s, check {checked_at - mapped:.2f} s, "
            f"write {written - checked_at:.2f} s; {sum(fileset.rows.values())} rows, "
            f"{size_mb:.1f} MB: " + ", ".join(f"{n} {c}" for n, c in sorted(fileset.rows.items()))
        )

        bench = Bench(base / "runs", _Feed(base / "feed"))
        (base / "runs").mkdir()
        bench.source(snap)
        for label in ("first run", "no change"):
            t0 = time.perf_counter()
            run = await bench.sync()
            sets = len(list((base / "feed" / "sets").iterdir()))
            print(
                f"{label}: {run.status} in {time.perf_counter() - t0:.1f} s, "
                f"{run.counts.get('planned', 0)} rows changed, {sets} set(s) delivered so far"
            )
        _, later = advance_seed(
            sample, SampleRequest(out=sample, as_of=today.isoformat(), advance="term")
        )
        bench.source(later)
        t0 = time.perf_counter()
        run = await bench.sync()
        sets = len(list((base / "feed" / "sets").iterdir()))
        print(
            f"a term later: {run.status} in {time.perf_counter() - t0:.1f} s, "
            f"{run.counts.get('planned', 0)} rows changed, {sets} set(s) delivered so far"
        )
        print(f"peak memory {rss_mb():.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.size, args.seed))
