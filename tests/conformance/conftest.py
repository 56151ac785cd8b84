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


def _scim_core(base: Path) -> TargetHarness:
    from tests.conformance.scim_harness import ScimHarness

    return ScimHarness("core", base)


def _scim_egil(base: Path) -> TargetHarness:
    from tests.conformance.scim_harness import ScimHarness

    return ScimHarness("egil", base)


def _google(base: Path) -> TargetHarness:
    from tests.conformance.google_harness import GoogleHarness, shared_sandbox

    return GoogleHarness(shared_sandbox(), base)


def _sds(base: Path) -> TargetHarness:
    from tests.conformance.sds_harness import SdsHarness, shared_sandbox

    return SdsHarness(shared_sandbox(), base)


HARNESSES: dict[str, HarnessFactory] = {
    "google": _google,
    "memory": _memory,
    "memory-strict": _memory_strict,
    "microsoft": _microsoft,
    "scim-core": _scim_core,
    "scim-egil": _scim_egil,
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
    from tests.conformance.shared_sandboxes import stop_all

    stop_all()
