"""The harness the apply benchmarks share (apply_microsoft.py, apply_google.py, apply_scim.py):
the benchmark tenant's ess.toml, the sample read as the source reads it, the plan a run will
apply, a run through ``engine.ops`` timed, a sampler that finds when a sandbox's counter
moved, the naive client's timing, and the figure table's rows."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from engine.config import load
from engine.model import Snapshot
from engine.ops import Ops
from engine.plan import Plan
from engine.planner import PlanInput, plan
from engine.secrets import SecretResolver
from engine.source import CachedSource, SourceContext
from engine.target import DesiredState, ObservedState, TargetBase
from engine.testing.conformance.bench import toml_value

TENANT = "bench"
T = TypeVar("T")
TargetT = TypeVar("TargetT", bound=TargetBase)


# ----- setup ---------------------------------------------------------------------------------


def write_ess_toml(path: Path, data: Path, target: str, table: Mapping[str, Any]) -> Path:
    """The benchmark tenant: the SS 12000 sample folder ``data`` as its source, one target
    ``target`` with the settings ``table``, and the guard's thresholds open (a benchmark
    measures what is sent, not what an operator approves)."""
    settings = "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items())
    path.write_text(
        f"""[journal]
path = "ess.db"

[tenants.{TENANT}]
source = {{ type = "ss12000", path = {toml_value(str(data))} }}

[tenants.{TENANT}.targets.{target}]
{settings}

[tenants.{TENANT}.policy.guard]
objects = {{ share = 1.0, count = 1000000 }}
links = {{ share = 1.0, count = 1000000 }}
""",
        encoding="utf-8",
    )
    return path


def target_table(config: Path, name: str) -> dict[str, Any]:
    """The settings table of the configured target ``name``."""
    return dict(load(config).tenant(TENANT).targets[name])


@contextmanager
def target_from(config: Path, name: str, cls: type[TargetT]) -> Iterator[TargetT]:
    """The benchmark's own copy of the configured target (its desired state and plans, the
    naive client's connection), closed afterwards."""
    cfg = load(config)
    tenant = cfg.tenant(TENANT)
    target = cls.from_config(name, dict(tenant.targets[name]), tenant.policy, cfg.secrets())
    assert isinstance(target, cls)
    try:
        yield target
    finally:
        asyncio.run(target.aclose())


def snapshot_of(data: Path, day: date) -> Snapshot:
    """Read the sample folder the way the source does (folder mode)."""
    from adapters.ss12000.source import SS12000Source

    source = SS12000Source.from_config({"type": "ss12000", "path": str(data)}, SecretResolver())

    class _Cache:
        async def load(self) -> Any:
            return CachedSource({}, None, None)

        async def save(self, **kw: Any) -> None:
            return None

    async def read() -> Snapshot:
        try:
            result = await source.read(SourceContext(TENANT, _Cache(), day), full=True)
        finally:
            await source.aclose()
        return result.snapshot

    return asyncio.run(read())


def the_plan(target: TargetBase, desired: DesiredState, before: ObservedState) -> Plan:
    """What a run of ``target`` will apply, planned as the engine plans it."""
    return plan(
        PlanInput(target.name, target.kinds, target.links, desired, before, datetime.now(UTC))
    )


# ----- timing --------------------------------------------------------------------------------


async def engine_sync(
    config: Path, *, approve_held: bool = False, indent: str = "  ", counts: bool = False
) -> float:
    """One run through the engine's public API; returns its wall time. A run the guard holds
    is approved when ``approve_held`` (as an operator would); its counts are printed when
    ``counts`` or when it did not succeed."""
    started = time.monotonic()
    async with await Ops.open(config, actor="benchmark") as ops:
        summary = await ops.sync(TENANT)
        if summary.status == "held" and approve_held:
            print(f"{indent}run {summary.id} held by the guard: approved, as an operator would")
            summary = await ops.approve(summary.id, reason="benchmark")
    elapsed = time.monotonic() - started
    print(f"{indent}run status: {summary.status}, wall time {elapsed:.1f} s")
    if counts or summary.status != "succeeded":
        print(f"{indent}counts {summary.counts}" + (f"; {summary.error}" if summary.error else ""))
    return elapsed


class CounterSampler:
    """Samples a sandbox's counter (``count``) every ``every_s`` to find when it started and
    stopped moving: the span a rate is measured over."""

    def __init__(self, count: Callable[[], int], every_s: float) -> None:
        self.count = count
        self.every_s = every_s
        self.first: float | None = None
        self.last: float | None = None
        self._seen = count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            seen = self.count()
            if seen != self._seen:
                if self.first is None:
                    self.first = now
                self.last = now
                self._seen = seen
            self._stop.wait(self.every_s)

    def __enter__(self) -> CounterSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def span(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return max(self.last - self.first, self.every_s)


# ----- the naive client ----------------------------------------------------------------------


@dataclass(frozen=True)
class NaiveTiming:
    """The naive client's first ``done`` of ``total`` changes, sent one at a time in
    ``elapsed_s``."""

    done: int
    total: int
    elapsed_s: float

    @property
    def pace(self) -> float:
        """Changes a second."""
        return self.done / max(self.elapsed_s, 1e-6)

    def extrapolated(self, most_per_s: float | None = None) -> float:
        """Wall time of all ``total`` changes: the rest at the measured pace, or at
        ``most_per_s`` when the service allows no more."""
        if self.done == 0:
            return 0.0
        if self.done == self.total:
            return self.elapsed_s
        pace = self.pace if most_per_s is None else min(self.pace, most_per_s)
        return self.elapsed_s + (self.total - self.done) / pace


async def naive_timing(
    work: Sequence[T], limit: int, send: Callable[[T], Awaitable[object]]
) -> NaiveTiming:
    """Send the first ``limit`` of ``work`` one at a time, in sequence, as a naive client
    does, and time them."""
    started = time.monotonic()
    done = 0
    for item in work[:limit]:
        await send(item)
        done += 1
    return NaiveTiming(done, len(work), time.monotonic() - started)


# ----- the figure table ----------------------------------------------------------------------


def row(label: str, value: str) -> None:
    """One row of a benchmark's figure table."""
    print(f"  {label:<29}{value}")


def ratio(part: float, whole: float, goal: str = "") -> str:
    """``part / whole`` to three places, and the goal it is held to."""
    text = f"{part / max(whole, 1):.3f}"
    return f"{text}   ({goal})" if goal else text
