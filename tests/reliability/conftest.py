"""Fixtures of the reliability suites: ``target_kit`` yields each target under test with a way
to read its true state; a conformance suite runs the same tests for every target it lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.targets import MemoryKit, TargetKit
from tests.reliability.world import World

KitFactory = Callable[[Path], TargetKit]


@pytest.fixture(scope="session")
def ms_sandbox_for_reliability() -> Iterator[object]:
    """The conformance suite's shared Microsoft sandbox: one per session serves both suites
    (each kit and harness resets it to quiet settings when it is made)."""
    from tests.conformance.microsoft_harness import shared_sandbox, stop_shared

    yield shared_sandbox()
    stop_shared()


@pytest.fixture(params=["memory", "microsoft"])
def target_kit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> KitFactory:
    """A factory of the target under test, given the world's folder."""
    if request.param == "memory":
        return MemoryKit
    from tests.microsoft.ms_support import SECRET_ENV
    from tests.reliability.microsoft_kit import MicrosoftKit

    sandbox = request.getfixturevalue("ms_sandbox_for_reliability")
    monkeypatch.setenv(SECRET_ENV, sandbox.info.client_secret)  # type: ignore[attr-defined]

    def make(base: Path) -> TargetKit:
        return MicrosoftKit(sandbox, base)

    return make


@pytest.fixture
def world(tmp_path: Path, target_kit: KitFactory) -> World:
    return World(tmp_path, target_kit(tmp_path))
