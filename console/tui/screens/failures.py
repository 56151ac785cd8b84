"""Failures: open failed, dead and blocked items, of one tenant or of all."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.tenant import ITEM_OPTIONAL, item_row
from console.tui.widgets.table import RowTable
from engine.views import OperationView

COLUMNS = ("Item", "Tenant", "Run", "Status", "Target", "Action", "Kind", "Label", "Tries", "Why")


class FailuresScreen(ConsoleScreen):
    CLOCK = False  # shows no ages: reloads on a change in the journal only
    ABOUT = (
        "Items that failed, died (the target refused the data) or are blocked behind one that "
        "did, and are still open. r retries, k skips, enter shows an item and what to do."
    )
    ACTIONS = ("retry", "skip", "logs", "explain", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = [*bindings(*ACTIONS), *ConsoleScreen.MARKS]

    def __init__(self, tenant_id: str | None = None) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.items: dict[int, OperationView] = {}

    def crumb(self) -> str:
        return f"failures {self.tenant_id}" if self.tenant_id else "failures"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        yield RowTable(
            COLUMNS, empty="no open failed items", id="items-table", optional=ITEM_OPTIONAL
        )

    async def load(self) -> None:
        items = await self.console.ops.failures(self.tenant_id)
        self.items = {o.id: o for o in items}
        self.query_one("#items-table", RowTable).set_rows(item_row(o, tenant=True) for o in items)
        by_status: dict[str, int] = {}
        for o in items:
            by_status[o.status] = by_status.get(o.status, 0) + 1
        where = f"tenant {self.tenant_id}" if self.tenant_id else "all tenants"
        parts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
        line = Text(f"{len(items)} open items in {where}" + (f": {parts}" if parts else ""))
        causes: dict[tuple[str, ...], int] = {}
        for o in items:
            causes[fmt.cause(o)] = causes.get(fmt.cause(o), 0) + 1
        top = sorted(causes.items(), key=lambda c: (-c[1], c[0]))[:3]
        if len(causes) > 1 or (top and top[0][1] > 1):  # by cause, as --by-cause groups them
            line.append("\nby cause (m marks one): ", style=fmt.DIM)
            line.append("; ".join(f"{n} × {' '.join(c)}" for c, n in top))
            if len(causes) > 3:
                line.append(f"; {len(causes) - 3} more", style=fmt.DIM)
        self.query_one("#summary", Static).update(line)

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.item import ItemScreen

        self.app.push_screen(ItemScreen(int(key)))

    def _item(self) -> OperationView | None:
        key = self.selected()
        return self.items.get(int(key)) if key is not None else None

    def scope_tenant(self) -> str | None:
        return self.tenant_id

    def context_tenant(self) -> str | None:
        item = self._item()
        return item.tenant if item else self.tenant_id

    def context_run(self) -> int | None:
        item = self._item()
        return item.run_id if item else None

    def target(self, action: str) -> Target:
        bulk = self.bulk_target(action)
        if bulk is not None:
            return bulk
        item = self._item()
        if item is None:
            return unavailable("no item selected")
        if action in ("retry", "skip", "explain"):
            return self.console.item_target(action, item)
        if action == "logs":
            return Target(tenant=item.tenant, run_id=item.run_id)
        if action == "copy_id":
            return Target(tenant=item.tenant, text=str(item.id), summary=f"item {item.id}")
        return unavailable("not on this screen")
