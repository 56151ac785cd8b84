"""`ess demo`: ESS doing its job, start to finish, against local sandboxes.

Starts every installed demo sandbox (the SS 12000 source and each target's emulator, found
through the ``ess.demo`` entry points), writes a demo tenant into a working folder, runs a full
sync with progress bars, advances the municipality a term and syncs again, shows what now
exists in each sandbox, and opens the console on the demo journal when run in a terminal.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine import plugins
from engine.ops import Ops
from engine.views import Progress as Tick
from engine.views import RunSummary

DEFAULT_WORKDIR = Path("ess-demo")
TENANT = "demo"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _civic_key(workdir: Path) -> str:
    """The demo installation's personnummer hash key (made once, kept across demo runs)."""
    path = workdir / "secrets" / "civic-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return "file:secrets/civic-key"


def write_config(workdir: Path, source: dict[str, Any], targets: dict[str, dict[str, Any]]) -> Path:
    """The demo tenant's ess.toml: journal beside it, secrets as file references."""
    lines = [
        "# Written by `ess demo`: a tenant that syncs the SS 12000 sandbox into the local",
        "# target sandboxes. Secrets live in files under secrets/ and are referenced here.",
        "",
        "[journal]",
        'path = "ess.db"',
        "",
        "[privacy]",
        f'civic_key = "{_civic_key(workdir)}"',
        "",
        f"[tenants.{TENANT}]",
        'name = "Demo kommun"',
        'tier = "bronze"',
        'schedule = "0 5 * * 1-5"',
        "",
        f"[tenants.{TENANT}.source]",
        *(f"{k} = {_toml_value(v)}" for k, v in source.items()),
        "",
        f"[tenants.{TENANT}.policy]",
        'protected_identity = "mask"',
        "suspend_grace_days = 30",
        "retry_base_s = 0.2",
        "retry_max_s = 5.0",
    ]
    for name, table in targets.items():
        lines += ["", f"[tenants.{TENANT}.targets.{name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path = workdir / "ess.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class _Bars:
    """Rich progress bars fed by the engine's progress ticks."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[tuple[str, str], Any] = {}

    def __call__(self, tick: Tick) -> None:
        if tick.stage != "read":
            for (stage, _), task in self.tasks.items():
                if stage == "read":
                    done = self.progress.tasks[task].completed
                    self.progress.update(task, total=done, completed=done)
        key = (tick.stage, tick.target)
        label = {
            "read": "reading the source",
            "plan": f"planning {tick.target}",
            "apply": f"applying to {tick.target}",
        }.get(tick.stage, tick.stage)
        if tick.stage == "read":
            label = f"reading {tick.message or 'the source'}"
            key = (tick.stage, tick.message)
        task = self.tasks.get(key)
        total = tick.total or None
        if task is None:
            task = self.tasks[key] = self.progress.add_task(label, total=total)
        self.progress.update(task, completed=tick.done, total=total)


def _summary_table(title: str, run: RunSummary) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_row("status", run.status)
    for key in sorted(run.counts):
        t.add_row(key.replace("_", " "), str(run.counts[key]))
    if run.duration_s is not None:
        t.add_row("seconds", f"{run.duration_s:.1f}")
    return t


async def _sync(ops: Ops, console: Console, title: str) -> RunSummary:
    bars = _Bars(console)
    with bars.progress:
        run = await ops.sync(TENANT, trigger="demo", progress=bars)
    console.print(_summary_table(title, run))
    return run


def run_demo(
    workdir: Path | None = None,
    *,
    console: bool = True,
    keep_running: bool = False,
    size: str = "small",
    out: Console | None = None,
    open_console: Callable[[Path], None] | None = None,
) -> int:
    """Run the demo; returns the process exit code (0 when both runs succeeded)."""
    con = out or Console()
    workdir = (workdir or DEFAULT_WORKDIR).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("ess.db", "ess.db-wal", "ess.db-shm"):
        (workdir / stale).unlink(missing_ok=True)
    started = time.monotonic()
    parts: list[plugins.DemoPart] = []
    try:
        options = plugins.DemoOptions(workdir=workdir, size=size)
        for name in plugins.names("ess.demo"):
            parts.append(plugins.load("ess.demo", name)(options))
        sources = [p for p in parts if p.role == "source"]
        targets = [p for p in parts if p.role == "target"]
        if len(sources) != 1 or not targets:
            con.print(
                "[red]the demo needs one source sandbox and at least one target sandbox"
                " installed[/red]"
            )
            return 2
        con.print(
            Panel.fit(
                "\n".join(p.describe() for p in parts), title="ESS demo: sandboxes on loopback"
            )
        )
        config = write_config(
            workdir, sources[0].settings(), {p.name: p.settings() for p in targets}
        )
        con.print(f"Demo tenant written to [bold]{config}[/bold] (journal: {workdir / 'ess.db'})")
        first, second = asyncio.run(_two_runs(config, sources[0], con))
        _show_state(con, parts)
        con.print(f"Done in {time.monotonic() - started:.0f} s.")
        ok = first.status == "succeeded" and second.status == "succeeded"
        if console and sys.stdin.isatty() and sys.stdout.isatty():
            (open_console or _open_console)(config)
        if keep_running:
            _wait(con, config)
        return 0 if ok else 1
    finally:
        for p in parts:
            p.stop()


async def _two_runs(
    config: Path, source: plugins.DemoPart, con: Console
) -> tuple[RunSummary, RunSummary]:
    async with await Ops.open(config, actor="demo") as ops:
        first = await _sync(ops, con, "First sync: everything created")
        changed = await asyncio.to_thread(source.advance, "term")
        con.print(
            "The municipality moved on a term: "
            + ", ".join(f"{n} {what}" for what, n in changed.items())
        )
        second = await _sync(ops, con, "Next term: only the differences")
        return first, second


def _show_state(con: Console, parts: list[plugins.DemoPart]) -> None:
    t = Table(title="What each sandbox holds now", title_justify="left")
    t.add_column("sandbox")
    t.add_column("what")
    t.add_column("count", justify="right")
    for p in parts:
        for what, n in p.summary().items():
            t.add_row(p.name, what, str(n))
    con.print(t)


def _open_console(config: Path) -> None:
    from console.tui.app import run_console

    run_console(config, read_only=False, actor="demo")


def _wait(con: Console, config: Path) -> None:
    con.print(
        Panel.fit(
            "The sandboxes keep running. In another terminal:\n"
            f"  ess --config {config} console\n"
            f"  ess --config {config} sync {TENANT}\n"
            f"  ess --config {config} mcp\n"
            "Press Ctrl-C here to stop them.",
            title="--keep-running",
        )
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        con.print("Stopping the sandboxes.")
