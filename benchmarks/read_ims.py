"""Full read of a generated municipality as an IMS Enterprise export (Tieto v12 form).

Prints the read's time and peak memory beside the time lxml alone needs to parse the same
bytes into generic values (each record's elements as a list of (tag, text, attributes),
cleared as it goes, as the reader does). Each runs in a child process of its own, so each
memory figure is that process's own.

    .venv/bin/python benchmarks/read_ims.py --size medium
    .venv/bin/python benchmarks/read_ims.py --size large --out /tmp/ims-large   # kept for reruns
"""

from __future__ import annotations

import time
from pathlib import Path

from export_read import ExportBench, cpu_clock, main, read_as_run, rss_mb
from lxml import etree

from adapters.ims.config import ImsConfig
from adapters.ims.source import ImsSource
from engine.perf import gc_paused
from engine.source import SourceContext, SourceRead

RECORDS = ("{*}properties", "{*}person", "{*}group", "{*}membership")


def _floor(folder: Path) -> dict[str, float]:
    """lxml alone: every element of every record as generic values, records cleared."""
    started, cpu = time.perf_counter(), cpu_clock()
    values = 0
    with gc_paused():
        for path in sorted(folder.glob("*.xml")):
            for _, el in etree.iterparse(
                str(path), events=("end",), tag=RECORDS, resolve_entities=False, no_network=True
            ):
                record = [(d.tag, d.text, dict(d.attrib)) for d in el.iter()]
                values += len(record)
                el.clear()
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
    return {
        "seconds": time.perf_counter() - started,
        "cpu": cpu_clock() - cpu,
        "values": values,
        "rss_mb": rss_mb(),
    }


def _read(folder: Path, ctx: SourceContext) -> SourceRead:
    return read_as_run(ImsSource(ImsConfig(path=str(folder))), ctx)


BENCH = ExportBench(
    __file__, _read, _floor, "lxml to generic values", "ims", "0001-complete.xml", "*.xml", "XML"
)

if __name__ == "__main__":
    main(BENCH, __doc__)
