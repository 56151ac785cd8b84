"""Fixtures for the console tests: a deterministic facade, an app factory, screen reading."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from console_fake_ops import FakeOps, fixed_clock
from textual.pilot import Pilot
from textual.screen import ModalScreen

from console.tui.app import ConsoleApp
from engine.ops import Ops

AppFactory = Callable[..., ConsoleApp]


@pytest.fixture
def fake() -> FakeOps:
    return FakeOps()


@pytest.fixture
def make_app(fake: FakeOps) -> AppFactory:
    def make(ops: Ops | None = None, *, read_only: bool = False) -> ConsoleApp:
        return ConsoleApp(ops or fake, read_only=read_only, refresh_seconds=0, clock=fixed_clock)

    return make


async def settle(pilot: Pilot[None]) -> None:
    """Let loads, policy checks and actions finish, or reach a dialog that waits for the user."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    for _ in range(500):
        await pilot.pause()
        busy = [w for w in app.workers if w.is_running]
        loads = [w for w in busy if w.group != "action"]
        if loads:
            await app.workers.wait_for_complete(loads)
        elif not busy or (app.asking and isinstance(app.screen, ModalScreen)):
            break
    await pilot.pause()


TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+" '
    r'clip-path="[^"]*">(.*?)</text>'
)


def screen_text(app: ConsoleApp) -> str:
    """What the terminal shows, as plain lines (read back from Textual's SVG screenshot)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in TEXT.finditer(app.export_screenshot()):
        rows.setdefault(float(m.group(2)), []).append(
            (float(m.group(1)), html.unescape(m.group(3)))
        )
    lines = []
    for y in sorted(rows):
        line = ""
        for x, t in sorted(rows[y]):
            line = line.ljust(round(x / 12.2)) + t
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


def notices(app: ConsoleApp) -> str:
    """Every notification shown so far, titles and messages, one per line."""
    return "\n".join(f"{severity} {title}: {message}" for severity, title, message in app.notices)


@pytest.fixture
def scenario_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ess.toml of the engine's scenario journal; skipped while the engine cannot build it."""
    try:
        from engine.testing.scenario import build_scenario
    except ImportError as exc:
        pytest.skip(f"engine.testing.scenario is not importable: {exc}")
    try:
        return build_scenario(tmp_path_factory.mktemp("scenario"))
    except ImportError as exc:
        pytest.skip(f"the engine cannot build the scenario yet: {exc}")
