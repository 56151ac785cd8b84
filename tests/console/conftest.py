"""Fixtures for the console tests: a deterministic facade, an app factory, screen reading."""

from __future__ import annotations

import shutil
import time
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


FRESH_S = 600.0
"""How long one scenario serves as the template of the tests' copies: well inside the 30
minutes of its elevation, so no copy meets a journal that has aged into another state."""

_template: tuple[Path, float] | None = None


@pytest.fixture
def scenario_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ess.toml of the engine's scenario journal, made by real runs of the engine once (per
    worker, and again when it is older than :data:`FRESH_S`) and copied for each test, which
    may write to its copy."""
    from engine.testing.scenario import build_scenario

    global _template
    if _template is None or time.monotonic() - _template[1] > FRESH_S:
        made = build_scenario(tmp_path_factory.mktemp("scenario-template"))
        _template = (made, time.monotonic())
    folder = tmp_path_factory.mktemp("scenario")
    shutil.copytree(_template[0].parent, folder, dirs_exist_ok=True)
    return folder / _template[0].name
