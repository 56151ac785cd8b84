"""The synthetic municipality as a snapshot, for the sample generators of every format.

There is one synthetic municipality: the SS 12000 sample generator makes it and moves it on
a term or a year. A generator for another format (IMS Enterprise, OneRoster) writes the same
municipality: it keeps the SS 12000 form in a hidden folder of its own output (``.ss12000``),
reads it with the SS 12000 source into the engine's snapshot and writes that snapshot in its
own format. So every format describes the very same persons, groups, memberships and roles,
and a test can require that each source reads back the same snapshot.

Both the generator and the source are found through their entry points, as the engine finds
them, so no adapter imports another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import orjson

from engine.model import Snapshot
from engine.plugins import SampleRequest, load
from engine.secrets import SecretResolver
from engine.source import CachedSource, SourceContext, SourceError

SEED_FORMAT = "ss12000"
SEED_FOLDER = ".ss12000"
T = TypeVar("T")


class _NoCache:
    """A source cache that keeps nothing: a sample is read whole every time."""

    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        return None


def _run(coro: Awaitable[T]) -> T:
    """Run a coroutine to its end, also from inside a running event loop."""

    async def main() -> T:
        return await coro

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def seed_folder(out: Path) -> Path:
    return out / SEED_FOLDER


def seed_as_of(out: Path) -> date:
    """The day the municipality in ``out`` describes (its SS 12000 manifest's ``asOf``)."""
    path = seed_folder(out) / "manifest.json"
    try:
        day = orjson.loads(path.read_bytes()).get("asOf")
        return date.fromisoformat(day)
    except (OSError, orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        raise ValueError(f"{out} is not a folder made by `ess sample generate`") from None


def read_seed(out: Path, today: date | None = None) -> Snapshot:
    """The municipality kept in ``out``, read by the SS 12000 source as of ``today`` (by
    default the day it describes)."""
    day = today or seed_as_of(out)
    source: Any = load("ess.sources", SEED_FORMAT).from_config(
        {"type": SEED_FORMAT, "path": str(seed_folder(out)), "parallel_read": False},
        SecretResolver(),
    )
    ctx = SourceContext(tenant="sample", cache=_NoCache(), today=day)
    try:
        read = _run(source.read(ctx, full=True))
    except SourceError as exc:
        raise ValueError(f"the sample in {out} cannot be read: {exc}") from None
    snap: Snapshot = read.snapshot
    return snap


def generate_seed(out: Path, request: SampleRequest) -> Snapshot:
    """Make the municipality for ``request`` in ``out`` and return it as a snapshot."""
    generator: Any = load("ess.samples", SEED_FORMAT)
    generator.run(
        SampleRequest(
            out=seed_folder(out), size=request.size, seed=request.seed, as_of=request.as_of
        )
    )
    return read_seed(out)


class SeedSample(ABC):
    """The sample generator of a format that writes the seed municipality: ``run`` makes it
    (or moves it on a term or a year) and the format writes it out."""

    name: str
    summary: str

    def run(self, request: SampleRequest) -> dict[str, int]:
        out = request.out
        if request.advance is None:
            self.prepare(out)
            return self.write_first(generate_seed(out, request), out)
        check_advance(request, self.name, self.made(out))
        before, after = advance_seed(out, request)
        return self.write_next(before, after, out)

    def prepare(self, out: Path) -> None:
        """Before a new municipality is made in ``out``: nothing unless a format says so."""
        return None

    @abstractmethod
    def made(self, out: Path) -> bool:
        """Whether ``out`` holds what this format wrote."""

    @abstractmethod
    def write_first(self, snap: Snapshot, out: Path) -> dict[str, int]:
        """Write a new municipality; its counts."""

    @abstractmethod
    def write_next(self, before: Snapshot, after: Snapshot, out: Path) -> dict[str, int]:
        """Write the municipality moved on; its counts."""


def check_advance(request: SampleRequest, fmt: str, made: bool) -> None:
    """Refuse to advance by anything but a term or a year, or a folder ``ess sample generate
    --format fmt`` did not make (``made`` says whether it did)."""
    if request.advance not in ("term", "year"):
        raise ValueError(f"advance must be 'term' or 'year', not {request.advance!r}")
    if not made:
        raise ValueError(
            f"{request.out} is not a folder made by `ess sample generate --format {fmt}`"
        )


def advance_seed(out: Path, request: SampleRequest) -> tuple[Snapshot, Snapshot]:
    """Move the municipality in ``out`` on as ``request.advance`` says; the snapshots before
    and after (each as of its own day)."""
    before = read_seed(out)
    generator: Any = load("ess.samples", SEED_FORMAT)
    generator.run(SampleRequest(out=seed_folder(out), as_of=request.as_of, advance=request.advance))
    return before, read_seed(out)
