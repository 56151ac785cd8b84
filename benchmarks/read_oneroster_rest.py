"""Full and incremental reads of a generated municipality from the OneRoster sandbox (REST,
v1p2) over HTTPS on loopback.

Prints, for a full read, an incremental read a term later and an incremental read with
nothing changed: the time, the pages asked for and the objects the cache took or dropped.
The sandbox runs in this process (its time is not counted, its memory is), so only times
and page counts are printed.

    nice .venv/bin/python benchmarks/read_oneroster_rest.py --size medium
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from adapters.kit.tls import tls_context
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.rest_delta import OVERLAP
from adapters.oneroster.sandbox import OneRosterSandbox, SandboxInfo
from adapters.oneroster.source import OneRosterSource
from engine.secrets import Secret
from engine.source import CachedSource, SourceContext, SourceRead


@dataclass
class _Cache:
    """A SourceCache in memory, as the journal keeps one."""

    records: dict[str, dict[str, bytes]] = field(default_factory=dict)
    checkpoint: str | None = None
    full_read_at: str | None = None

    async def load(self) -> CachedSource:
        return CachedSource(self.records, self.checkpoint, self.full_read_at)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Any],
        checkpoint: str,
        full: bool,
    ) -> None:
        for name, ids in deletes.items():
            for rid in ids:
                self.records.get(name, {}).pop(rid, None)
        for name, recs in upserts.items():
            self.records.setdefault(name, {}).update(recs)
        self.checkpoint = checkpoint
        if full:
            self.full_read_at = checkpoint


def _source(info: SandboxInfo, page_size: int) -> OneRosterSource:
    config = OneRosterConfig(
        base_url=info.base_url,
        token_url=info.token_url,
        client_id=info.client_id,
        client_secret="env:BENCH_OR_SECRET",
        verify=info.ca_cert,
        page_size=page_size,
    )
    secret = Secret("env:BENCH_OR_SECRET", info.client_secret)
    return OneRosterSource(config, secret=secret, tls=tls_context(info.ca_cert))


async def _timed(
    label: str, sandbox: OneRosterSandbox, cache: _Cache, page_size: int, today: date
) -> SourceRead:
    pages = sandbox.service.stats()["pages"]
    started = time.perf_counter()
    read = await _source(sandbox.info, page_size).read(SourceContext("bench", cache, today))
    took = time.perf_counter() - started
    print(
        f"{label:<28} {read.mode:<12} {took:7.2f} s  {sandbox.service.stats()['pages'] - pages:5d}"
        f" pages  {len(read.snapshot.persons):7,d} persons  {len(read.snapshot.memberships):9,d}"
        f" memberships  upserts {read.stats.get('upserts', 0):,}"
        f"  deletes {read.stats.get('deletes', 0):,}"
    )
    return read


async def main(size: str, page_size: int) -> None:
    started = time.perf_counter()
    sandbox = OneRosterSandbox(size=size, seed=1)
    info = await asyncio.to_thread(sandbox.start)
    print(f"sandbox ({size}) ready in {time.perf_counter() - started:.1f} s; page size {page_size}")
    # an incremental read asks from OVERLAP before the last read began: let the stamps of
    # the generation (and of the advance) fall before that, as between two scheduled runs
    settle = OVERLAP.total_seconds() + 1
    try:
        cache = _Cache()
        await asyncio.sleep(settle)
        first = await _timed("full read", sandbox, cache, page_size, sandbox.snapshot.as_of)
        await asyncio.sleep(settle)
        await _timed("incremental, nothing new", sandbox, cache, page_size, first.snapshot.as_of)
        changes = await asyncio.to_thread(sandbox.advance, "term")
        print(
            f"advanced a term: {changes['added']:,} added, {changes['changed']:,} changed, "
            f"{changes['removed']:,} removed"
        )
        day = sandbox.snapshot.as_of
        await asyncio.sleep(settle)
        await _timed("incremental, a term later", sandbox, cache, page_size, day)
        await asyncio.sleep(settle)
        await _timed("incremental, nothing new", sandbox, cache, page_size, day)
        await _timed("full read, a term later", sandbox, _Cache(), page_size, day)
    finally:
        await asyncio.to_thread(sandbox.stop)
    del info


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    asyncio.run(main(args.size, args.page_size))
