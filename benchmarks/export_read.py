"""The harness both export-read benchmarks share (read_ims.py, read_oneroster.py): a generated
municipality in the format, a full read and a parse-only floor each in a child process of its
own (so each memory figure is that process's own), and the figures printed side by side."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from adapters.kit.sample_snapshot import seed_as_of
from engine.plugins import SampleRequest, load
from engine.source import CachedSource, SourceContext, SourceRead


class _NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: Any) -> None:
        return None


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class ExportBench:
    """One format: how to read a folder, the floor to set it against, and its sample."""

    script: str  # the benchmark's own file, run again as the child
    read: Callable[[Path, SourceContext], SourceRead]
    floor: Callable[[Path], dict[str, float]]
    floor_label: str  # "lxml to generic values"
    sample: str  # the ess.samples name
    marker: str  # a file the written sample always has
    pattern: str  # the files whose size is reported
    unit: str  # "XML", "CSV"


def _read(bench: ExportBench, folder: Path) -> dict[str, float]:
    ctx = SourceContext("bench", _NoCache(), seed_as_of(folder))
    started = time.perf_counter()
    read = bench.read(folder, ctx)
    seconds = time.perf_counter() - started
    counts = read.snapshot.counts()
    return {"seconds": seconds, **counts, "findings": len(read.findings), "rss_mb": rss_mb()}


def _child(bench: ExportBench, kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, bench.script, "--child", kind, "--out", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(bench: ExportBench, doc: str | None) -> None:
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--size", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("read", "floor"), default=None)
    args = parser.parse_args()
    if args.child:
        folder = args.out
        result = _read(bench, folder) if args.child == "read" else bench.floor(folder)
        print(json.dumps(result))
        return
    folder = args.out or Path(tempfile.mkdtemp(prefix=f"{bench.sample}-bench-")) / args.size
    if not (folder / bench.marker).is_file():
        started = time.perf_counter()
        request = SampleRequest(
            out=folder, size=args.size, seed=args.seed, as_of=date(2025, 9, 15).isoformat()
        )
        load("ess.samples", bench.sample).run(request)
        print(f"generated {folder} in {time.perf_counter() - started:.1f} s")
    size_mb = sum(p.stat().st_size for p in folder.glob(bench.pattern)) / 1e6
    reads = [_child(bench, "read", folder) for _ in range(args.rounds)]
    floors = [_child(bench, "floor", folder) for _ in range(args.rounds)]
    best_read = min(r["seconds"] for r in reads)
    best_floor = min(f["seconds"] for f in floors)
    first = reads[0]
    print(
        f"size {args.size}: {size_mb:.0f} MB of {bench.unit}; schools {first['schools']}, "
        f"persons {first['persons']}, groups {first['groups']}, memberships "
        f"{first['memberships']}, school roles {first['school_roles']}, "
        f"findings {first['findings']}"
    )
    print("read (parse and map): " + ", ".join(f"{r['seconds']:.2f} s" for r in reads))
    print(f"floor ({bench.floor_label}): " + ", ".join(f"{f['seconds']:.2f} s" for f in floors))
    print(f"best read / best floor: {best_read / best_floor:.2f} x")
    print(
        f"peak memory: read {max(r['rss_mb'] for r in reads):.0f} MB, "
        f"floor {max(f['rss_mb'] for f in floors):.0f} MB"
    )
