"""Runs: the newest runs of one tenant, or of every tenant merged by start time."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.tenant import RUN_OPTIONAL, run_row
from console.tui.widgets.table import RowTable
from engine.views import RunSummary

COLUMNS = ("Run", "Tenant", "Status", "Trigger", "Started", "Duration", "Counts", "Actor")


class RunsScreen(ConsoleScreen):
    ABOUT = (
        "Runs, newest first. Enter opens a run; l its log; R retries every failed item of the "
        "selected run; a and x approve or reject a held one."
    )
    ACTIONS = ("retry_run", "skip_run", "approve", "reject", "logs", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self, tenant_id: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.runs: dict[int, RunSummary] = {}

    def crumb(self) -> str:
        return f"runs {self.tenant_id}" if self.tenant_id else "runs"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        yield RowTable(COLUMNS, empty="no runs yet", id="runs-table", optional=RUN_OPTIONAL)

    async def load(self) -> None:
        ops = self.console.ops
        if self.tenant_id:
            runs = await ops.runs(self.tenant_id, limit=100)
        else:
            runs = []
            for t in await self.console.load_tenants():
                runs += await ops.runs(t.id, limit=20)
            runs.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        self.runs = {r.id: r for r in runs}
        now = self.console.now()
        self.query_one("#runs-table", RowTable).set_rows(run_row(r, now, tenant=True) for r in runs)
        where = f"tenant {self.tenant_id}" if self.tenant_id else "all tenants"
        summary = Text(f"{len(runs)} runs of {where}, newest first")
        self.query_one("#summary", Static).update(summary)

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.run import RunScreen

        self.app.push_screen(RunScreen(int(key)))

    def _run(self) -> RunSummary | None:
        key = self.selected()
        return self.runs.get(int(key)) if key is not None else None

    def scope_tenant(self) -> str | None:
        return self.tenant_id

    def context_tenant(self) -> str | None:
        run = self._run()
        return run.tenant if run else self.tenant_id

    def context_run(self) -> int | None:
        run = self._run()
        return run.id if run else None

    def target(self, action: str) -> Target:
        run = self._run()
        if run is None:
            return unavailable("no run selected")
        if action in ("retry_run", "skip_run"):
            return self.console.run_retry_target(run, action=action)
        if action in ("approve", "reject"):
            if run.status != "held":
                return unavailable(f"run {run.id} is {run.status}, not held")
            return self.console.held_target(action, run.tenant, run.id)
        if action == "logs":
            return Target(tenant=run.tenant, run_id=run.id)
        if action == "copy_id":
            return Target(tenant=run.tenant, text=str(run.id), summary=f"run {run.id}")
        return unavailable("not on this screen")
