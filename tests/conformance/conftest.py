"""Harnesses for the conformance suite: a target joins it by adding one entry to HARNESSES."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from engine.testing.conformance import TargetHarness
from engine.testing.conformance.memory import MemoryHarness

HarnessFactory = Callable[[Path], TargetHarness]


def _memory(base: Path) -> TargetHarness:
    return MemoryHarness(base)


def _memory_strict(base: Path) -> TargetHarness:
    return MemoryHarness(base, strict=True)


def _microsoft(base: Path) -> TargetHarness:
    from tests.conformance.microsoft_harness import MicrosoftHarness, shared_sandbox

    return MicrosoftHarness(shared_sandbox(), base)


def _sds(base: Path) -> TargetHarness:
    from tests.conformance.sds_harness import SdsHarness, shared_sandbox

    return SdsHarness(shared_sandbox(), base)


HARNESSES: dict[str, HarnessFactory] = {
    "memory": _memory,
    "memory-strict": _memory_strict,
    "microsoft": _microsoft,
    "sds": _sds,
}


@pytest.fixture(params=sorted(HARNESSES))
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TargetHarness]:
    made = HARNESSES[request.param](tmp_path)
    yield made
    await made.aclose()


@pytest.fixture(scope="session", autouse=True)
def _stop_sandboxes() -> Iterator[None]:
    yield
    from tests.conformance import microsoft_harness

    microsoft_harness.stop_shared()
    from tests.conformance import sds_harness

    sds_harness.stop_shared()
