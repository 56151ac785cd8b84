"""Full read of a generated municipality as a OneRoster 1.2 bulk CSV package.

Prints the read's time and peak memory beside the time the csv module alone needs to parse
the same bytes into rows of strings. Each runs in a child process of its own, so each memory
figure is that process's own.

    .venv/bin/python benchmarks/read_oneroster.py --size medium
    .venv/bin/python benchmarks/read_oneroster.py --size large --out /tmp/or-large
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from adapters.kit.sample_snapshot import seed_as_of
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.source import OneRosterSource
from engine.perf import gc_paused
from engine.plugins import SampleRequest, load
from engine.source import CachedSource, SourceContext


class _NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: Any) -> None:
        return None


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _floor(folder: Path) -> dict[str, float]:
    """The csv module alone: every row of every file as a list of strings, then dropped."""
    started = time.perf_counter()
    values = 0
    with gc_paused():
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8-sig", newline="") as f:
                for row in csv.reader(f):
                    values += len(row)
    return {"seconds": time.perf_counter() - started, "values": values, "rss_mb": _rss_mb()}


def _read(folder: Path) -> dict[str, float]:
    source = OneRosterSource(OneRosterConfig(path=str(folder)))
    ctx = SourceContext("bench", _NoCache(), seed_as_of(folder))
    started = time.perf_counter()
    read = source.read_now(ctx)
    seconds = time.perf_counter() - started
    counts = read.snapshot.counts()
    return {"seconds": seconds, **counts, "findings": len(read.findings), "rss_mb": _rss_mb()}


def _child(kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--out", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("read", "floor"), default=None)
    args = parser.parse_args()
    if args.child:
        result = _read(args.out) if args.child == "read" else _floor(args.out)
        print(json.dumps(result))
        return
    folder = args.out or Path(tempfile.mkdtemp(prefix="oneroster-bench-")) / args.size
    if not (folder / "manifest.csv").is_file():
        started = time.perf_counter()
        request = SampleRequest(
            out=folder, size=args.size, seed=args.seed, as_of=date(2025, 9, 15).isoformat()
        )
        load("ess.samples", "oneroster-csv").run(request)
        print(f"generated {folder} in {time.perf_counter() - started:.1f} s")
    size_mb = sum(p.stat().st_size for p in folder.glob("*.csv")) / 1e6
    reads = [_child("read", folder) for _ in range(args.rounds)]
    floors = [_child("floor", folder) for _ in range(args.rounds)]
    best_read = min(r["seconds"] for r in reads)
    best_floor = min(f["seconds"] for f in floors)
    first = reads[0]
    print(
        f"size {args.size}: {size_mb:.0f} MB of CSV; schools {first['schools']}, persons "
        f"{first['persons']}, groups {first['groups']}, memberships {first['memberships']}, "
        f"school roles {first['school_roles']}, findings {first['findings']}"
    )
    print("read (parse and map): " + ", ".join(f"{r['seconds']:.2f} s" for r in reads))
    print("floor (csv module to rows): " + ", ".join(f"{f['seconds']:.2f} s" for f in floors))
    print(f"best read / best floor: {best_read / best_floor:.2f} x")
    print(
        f"peak memory: read {max(r['rss_mb'] for r in reads):.0f} MB, "
        f"floor {max(f['rss_mb'] for f in floors):.0f} MB"
    )


if __name__ == "__main__":
    main()
