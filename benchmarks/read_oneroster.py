"""Full read of a generated municipality as a OneRoster 1.2 bulk CSV package.

Prints the read's time and peak memory beside the time the csv module alone needs to parse
the same bytes into rows of strings. Each runs in a child process of its own, so each memory
figure is that process's own.

    .venv/bin/python benchmarks/read_oneroster.py --size medium
    .venv/bin/python benchmarks/read_oneroster.py --size large --out /tmp/or-large
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from export_read import ExportBench, cpu_clock, main, read_as_run, rss_mb

from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.source import OneRosterSource
from engine.perf import gc_paused
from engine.source import SourceContext, SourceRead


def _floor(folder: Path) -> dict[str, float]:
    """The csv module alone: every row of every file as a list of strings, then dropped."""
    started, cpu = time.perf_counter(), cpu_clock()
    values = 0
    with gc_paused():
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8-sig", newline="") as f:
                for row in csv.reader(f):
                    values += len(row)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": cpu_clock() - cpu,
        "values": values,
        "rss_mb": rss_mb(),
    }


def _read(folder: Path, ctx: SourceContext) -> SourceRead:
    return read_as_run(OneRosterSource(OneRosterConfig(path=str(folder))), ctx)


BENCH = ExportBench(
    __file__, _read, _floor, "csv module to rows", "oneroster-csv", "manifest.csv", "*.csv", "CSV"
)

if __name__ == "__main__":
    main(BENCH, __doc__)
