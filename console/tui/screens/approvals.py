"""Approvals: plans the guard held, with what they would delete or suspend; approve or reject."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.tenant import held_row
from console.tui.widgets.table import RowTable
from engine.views import HeldPlanView

COLUMNS = ("Run", "Tenant", "Held", "Would remove", "Ops", "Why")


def plan_detail(p: HeldPlanView) -> Text:
    text = Text()
    text.append(f"Run #{p.run_id} of {p.tenant}", style="bold")
    text.append(f": {p.total_operations} operations held {fmt.clock_time(p.held_at)}\n")
    for reason in p.reasons:
        text.append(f"  • {reason}\n", style=fmt.HELD)
    text.append("Would remove: ", style="bold")
    text.append(fmt.removals(p) + "\n")
    if p.examples:
        text.append("For example: ", style="bold")
        text.append(", ".join(p.examples))
    return text


class ApprovalsScreen(ConsoleScreen):
    ABOUT = (
        "Plans the guard held because they would delete or suspend more than the tenant's "
        "thresholds allow. Nothing was applied. a applies the plan, x throws it away; "
        "enter opens the run."
    )
    ACTIONS = ("approve", "reject", "logs", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.plans: dict[int, HeldPlanView] = {}

    def crumb(self) -> str:
        return "approvals"

    def compose_body(self) -> ComposeResult:
        yield RowTable(COLUMNS, empty="no held plans", id="held-table")
        yield Static(id="plan-detail")

    async def load(self) -> None:
        plans = await self.console.ops.held_plans()
        self.plans = {p.run_id: p for p in plans}
        now = self.console.now()
        self.query_one("#held-table", RowTable).set_rows(
            held_row(p, now, tenant=True) for p in plans
        )
        self.row_changed()

    def row_changed(self) -> None:
        plan = self._plan()
        pane = self.query_one("#plan-detail", Static)
        pane.update(plan_detail(plan) if plan else "No held plans: nothing waits for approval.")

    def _plan(self) -> HeldPlanView | None:
        key = self.selected()
        return self.plans.get(int(key)) if key is not None else None

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.run import RunScreen

        self.app.push_screen(RunScreen(int(key)))

    def context_tenant(self) -> str | None:
        plan = self._plan()
        return plan.tenant if plan else None

    def context_run(self) -> int | None:
        plan = self._plan()
        return plan.run_id if plan else None

    def target(self, action: str) -> Target:
        plan = self._plan()
        if plan is None:
            return unavailable("no held plan selected")
        if action in ("approve", "reject"):
            return self.console.held_target(action, plan.tenant, plan.run_id, plan)
        if action == "logs":
            return Target(tenant=plan.tenant, run_id=plan.run_id)
        if action == "copy_id":
            return Target(tenant=plan.tenant, text=str(plan.run_id), summary=f"run {plan.run_id}")
        return unavailable("not on this screen")
