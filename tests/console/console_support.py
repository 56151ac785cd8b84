"""Helpers for the console tests: settling the app, reading the screen, notifications."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.worker import WorkerCancelled

from console.tui.app import ConsoleApp

AppFactory = Callable[..., ConsoleApp]


async def settle(pilot: Pilot[None]) -> None:
    """Let loads, policy checks and actions finish, or reach a dialog that waits for the user."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    for _ in range(500):
        await pilot.pause()
        busy = [w for w in app.workers if w.is_running]
        loads = [w for w in busy if w.group != "action"]
        if loads:
            try:
                await app.workers.wait_for_complete(loads)
            except WorkerCancelled:  # replaced by a newer one of its group: wait for that
                continue
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
