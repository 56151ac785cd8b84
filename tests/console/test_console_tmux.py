"""`ess console` in a real terminal: tmux runs it on the scenario journal; keys drill down to a
failed item and retry it; capture-pane reads the screen; the journal's audit shows the retry."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.ops import Ops, os_actor

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.tmux

CONSOLE_ACTOR = os_actor("console", host=socket.gethostname())  # the OS account, audited


class Terminal:
    """One tmux server on a private socket, so nothing else running under tmux is touched."""

    def __init__(self, tmux: str, socket: str) -> None:
        self.tmux = tmux
        self.socket = socket

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "console")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "console", *keys)

    def wait_for(self, pattern: str, *, within: float = 60.0) -> str:
        """Poll the pane until ``pattern`` shows (bounded, so a broken console fails the test)."""
        deadline = time.monotonic() + within
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared; the screen shows:\n{text}")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux)")
    term = Terminal(tmux, f"ess-console-test-{os.getpid()}")
    yield term
    socket = subprocess.run(
        [tmux, "-L", term.socket, "display-message", "-p", "#{socket_path}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    subprocess.run([tmux, "-L", term.socket, "kill-server"], capture_output=True, check=False)
    if socket:
        Path(socket).unlink(missing_ok=True)


def test_drill_down_and_retry_in_tmux(terminal: Terminal, scenario_config: Path) -> None:
    command = f"{sys.executable} -m console.tui --config {scenario_config}"
    env_cmd = f"cd {ROOT} && TERM=xterm-256color {command}"
    terminal.run("new-session", "-d", "-s", "console", "-x", "120", "-y", "40", env_cmd)
    terminal.wait_for(r"ESS › Tenants")
    terminal.wait_for(r"alpha")
    terminal.keys(":")
    terminal.wait_for(r":tenants :runs")
    terminal.keys("-l", "tenant alpha")
    terminal.keys("Enter")
    terminal.wait_for(r"ESS › Tenants › alpha")
    terminal.keys("2")
    terminal.wait_for(r"#\d+ +(failed|dead|blocked) ")  # at 80 columns the run column is left out
    terminal.keys("Enter")
    text = terminal.wait_for(r"What to do")
    match = re.search(r"ESS › Tenants › alpha › item (\d+)", text)
    assert match is not None, text
    terminal.keys("r")
    terminal.wait_for(r"Retry 1 \w+ item of run \d+ in tenant alpha:")
    terminal.wait_for(r"Cancel")  # the dialog's buttons are drawn: it has the focus
    terminal.keys("y")

    async def audited() -> list[tuple[str, str]]:
        async with await Ops.open(scenario_config, actor="test:reader", read_only=True) as ops:
            return [(a.action, a.actor) for a in await ops.audit("alpha")]

    # the console is still running: the journal is read beside it, as a second process would
    deadline = time.monotonic() + 60
    rows: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        rows = asyncio.run(audited())
        if ("retry", CONSOLE_ACTOR) in rows:
            break
        time.sleep(0.5)
    assert ("retry", CONSOLE_ACTOR) in rows, f"no retry by {CONSOLE_ACTOR} in the audit: {rows}"
    assert f"(item {match.group(1)})" not in terminal.screen()  # the dialog has closed
    terminal.keys("q")
