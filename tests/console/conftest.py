"""Fixtures for the console tests: a deterministic facade, an app factory, screen reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_fake_ops import FakeOps, fixed_clock
from console_support import AppFactory

from console.tui.app import ConsoleApp
from engine.ops import Ops


@pytest.fixture
def fake() -> FakeOps:
    return FakeOps()


@pytest.fixture
def make_app(fake: FakeOps) -> AppFactory:
    def make(ops: Ops | None = None, *, read_only: bool = False) -> ConsoleApp:
        return ConsoleApp(
            ops or fake, read_only=read_only, refresh_seconds=0, clock=fixed_clock, watch_seconds=0
        )

    return make


@pytest.fixture
def scenario_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ess.toml of the engine's scenario journal, made by real runs of the engine."""
    from engine.testing.scenario import build_scenario

    return build_scenario(tmp_path_factory.mktemp("scenario"))
