"""Full read of a generated municipality from the SS 12000 sandbox on loopback.

Prints the read's records per second and peak memory, beside the time orjson alone needs to
parse the same pages. The sandbox runs in a child process, so the memory figures are the
reader's own.

    .venv/bin/python benchmarks/read_ss12000.py               # large (150,000 pupils)
    .venv/bin/python benchmarks/read_ss12000.py --size medium # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
import orjson

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SandboxInfo, SS12000Sandbox
from adapters.ss12000.source import SS12000Source
from adapters.ss12000.vocabulary import ENTITIES
from engine.secrets import Secret
from engine.source import CachedSource, SourceContext


class _Cache:
    """A SourceCache that keeps what it is given, as the journal would."""

    def __init__(self) -> None:
        self.saved: Mapping[str, Mapping[str, bytes]] = {}

    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Any],
        checkpoint: str,
        full: bool,
    ) -> None:
        self.saved = upserts


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _raw_pages(info: Any, page_size: int) -> list[bytes]:
    bodies: list[bytes] = []
    async with httpx.AsyncClient(timeout=120) as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
        }
        token = (await http.post(info.token_url, data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for entity in ENTITIES:
            params = {"limit": str(page_size)}
            while True:
                resp = await http.get(f"{info.base_url}/{entity}", params=params, headers=headers)
                bodies.append(resp.content)
                next_token = orjson.loads(resp.content)["pageToken"]
                if next_token is None:
                    break
                params = {"pageToken": next_token}
    return bodies


def serve(size: str, seed: int) -> None:
    """The sandbox side, run in a child process so the reader's figures are its own."""
    dataset = generate(size, seed, date.today())
    with SS12000Sandbox(dataset) as sandbox:
        print(
            orjson.dumps(
                {"info": orjson.loads(sandbox.info.to_json()), **dataset.counts()}
            ).decode(),
            flush=True,
        )
        sys.stdin.read()  # serve until the parent closes our stdin


def main(size: str, seed: int, page_size: int) -> None:
    t0 = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--size", size, "--seed", str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = orjson.loads(child.stdout.readline())
        info = SandboxInfo(**first.pop("info"))
        print(f"sandbox ({size}) up in {time.perf_counter() - t0:.1f} s serving {first}")
        asyncio.run(measure(info, first, page_size))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=60)


async def measure(info: SandboxInfo, counts: dict[str, int], page_size: int) -> None:
    today = date.today()
    records = sum(counts[e] for e in ENTITIES)
    config = SS12000Config(
        base_url=info.base_url,
        token_url=info.token_url,
        client_id=info.client_id,
        client_secret="env:UNUSED",
        page_size=page_size,
        timeout_s=300,
    )
    source = SS12000Source(config, Secret("env:UNUSED", info.client_secret))
    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    read = await source.read(SourceContext("bench", _Cache(), today), full=True)
    read_s = time.perf_counter() - t0
    peak = _rss_mb()
    await source.aclose()
    snap = read.snapshot.counts()
    del read
    gc.collect()
    t0 = time.perf_counter()
    bodies = await _raw_pages(info, page_size)
    fetch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for body in bodies:
        orjson.loads(body)
    parse_s = time.perf_counter() - t0
    megabytes = sum(len(b) for b in bodies) / 1e6
    print(f"snapshot: {snap}")
    print(
        f"full read: {read_s:.2f} s for {records} objects ({counts['memberships']} memberships)"
        f" = {records / read_s:,.0f} objects/s, {counts['memberships'] / read_s:,.0f} memberships/s"
    )
    print(f"pages: {len(bodies)} pages, {megabytes:.1f} MB of JSON, page size {page_size}")
    print(f"fetch only (httpx, reading each page's pageToken): {fetch_s:.2f} s")
    print(f"orjson.loads of the same pages alone: {parse_s:.2f} s")
    print(f"reader's peak RSS: {peak:.0f} MB (before the read {before:.0f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", help="small, medium, large or a pupil count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.size, args.seed)
    else:
        main(args.size, args.seed, args.page_size)
