"""The harness both export-read benchmarks share (read_ims.py, read_oneroster.py): a generated
municipality in the format, a full read and a parse-only floor each in a child process of its
own (so each memory figure is that process's own), and the figures printed side by side."""

from __future__ import annotations

import argparse
import asyncio
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
from engine.source import CachedSource, Source, SourceContext, SourceRead


class _NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: Any) -> None:
        return None


def rss_mb() -> float:
    """This process's peak resident memory. On Linux the kernel's own high-water mark of the
    process's address space (``VmHWM``): ``ru_maxrss`` carries the parent's peak over into a
    child started with vfork and exec, so a child started after the sample was generated
    in the parent would report the generator's memory as its own."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
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


def read_as_run(source: Source, ctx: SourceContext) -> SourceRead:
    """The read as a run makes it: ``Source.read``, in a worker thread with the cyclic
    collector paused (as the floors have it paused), not ``read_now`` with the collector on."""
    return asyncio.run(source.read(ctx))


def _read(bench: ExportBench, folder: Path) -> dict[str, float]:
    ctx = SourceContext("bench", _NoCache(), seed_as_of(folder))
    started, cpu = time.perf_counter(), time.process_time()
    read = bench.read(folder, ctx)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = read.snapshot.counts()
    return {
        "seconds": seconds,
        "cpu": cpu,
        **counts,
        "findings": len(read.findings),
        "rss_mb": rss_mb(),
    }


def _child(bench: ExportBench, kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, bench.script, "--child", kind, "--out", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _times(run: dict[str, float]) -> str:
    return f"{run['seconds']:.2f} s ({run['cpu']:.2f} s CPU)"


def cpu_clock() -> float:
    """The process's CPU time: on a shared machine the wall clock measures the neighbours
    too, so the ratio is given for both."""
    return time.process_time()


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
    best_read_cpu = min(r["cpu"] for r in reads)
    best_floor_cpu = min(f["cpu"] for f in floors)
    first = reads[0]
    print(
        f"size {args.size}: {size_mb:.0f} MB of {bench.unit}; schools {first['schools']}, "
        f"persons {first['persons']}, groups {first['groups']}, memberships "
        f"{first['memberships']}, school roles {first['school_roles']}, "
        f"findings {first['findings']}"
    )
    print("read (parse and map): " + ", ".join(_times(r) for r in reads))
    print(f"floor ({bench.floor_label}): " + ", ".join(_times(f) for f in floors))
    print(
        f"best read / best floor: {best_read / best_floor:.2f} x wall, "
        f"{best_read_cpu / best_floor_cpu:.2f} x CPU"
    )
    print(
        f"peak memory: read {max(r['rss_mb'] for r in reads):.0f} MB, "
        f"floor {max(f['rss_mb'] for f in floors):.0f} MB"
    )
