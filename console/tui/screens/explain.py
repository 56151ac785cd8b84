"""Explain: one record from source to target, and the answer to "why is this missing?"."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.tenant import item_row
from console.tui.widgets.table import RowTable
from engine.views import Explanation, OperationView

ITEM_COLUMNS = ("Item", "Run", "Status", "Target", "Action", "Kind", "Label", "Tries", "Why")


class ExplainScreen(ConsoleScreen):
    CLOCK = False  # shows no ages: reloads on a change in the journal only
    ABOUT = (
        "Where a record is and what happened to it: the answer in one paragraph, its findings, "
        "its operations in each target (enter opens one), the source record (redacted), and "
        "what each target should hold against what it holds."
    )
    ACTIONS = ("retry", "skip", "logs", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self, tenant: str, record_type: str, key: str) -> None:
        super().__init__()
        self.tenant = tenant
        self.record_type = record_type
        self.key = key
        self.explanation: Explanation | None = None
        self.items: dict[int, OperationView] = {}

    def crumb(self) -> str:
        label = self.explanation.label if self.explanation else self.key
        return f"{self.record_type} {fmt.shorten(label, 24)}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="explain"):
            yield Static(id="summary")
            yield Static(id="findings")
            yield RowTable(ITEM_COLUMNS, empty="no operations", id="items-table")
            with Horizontal(id="records"):
                yield Static(id="source", classes="record")
                yield Static(id="states", classes="record")

    async def load(self) -> None:
        e = await self.console.ops.explain(self.tenant, self.record_type, self.key)
        self.explanation = e
        self.items = {o.id: o for o in e.operations}
        head = Text()
        head.append(f"{e.label}", style="bold")
        head.append(f"  {e.record_type} in {e.tenant}  id {e.key}\n", style=fmt.DIM)
        head.append(e.summary)
        self.query_one("#summary", Static).update(head)
        findings = Text()
        for f in e.findings:
            findings.append(
                f"{f.severity} {f.code}: ", style=fmt.BAD if f.severity == "blocking" else fmt.WARN
            )
            findings.append(f"{f.message}")
            if f.fix:
                findings.append(f" Fix: {f.fix}", style=fmt.DIM)
            findings.append("\n")
        self.query_one("#findings", Static).update(findings or Text("no findings", style=fmt.DIM))
        self.query_one("#items-table", RowTable).set_rows(item_row(o) for o in e.operations)
        source = self.query_one("#source", Static)
        source.border_title = "Source record"
        source.update(fmt.pretty(e.source_record))
        states = self.query_one("#states", Static)
        states.border_title = "Desired / observed"
        states.update(fmt.pretty({"desired": e.desired, "observed": e.observed}))
        self.update_topbar()

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.item import ItemScreen

        self.app.push_screen(ItemScreen(int(key)))

    def scope_tenant(self) -> str | None:
        return self.context_tenant()

    def context_tenant(self) -> str | None:
        return self.tenant

    def _item(self) -> OperationView | None:
        key = self.selected("items-table")
        return self.items.get(int(key)) if key is not None else None

    def context_run(self) -> int | None:
        item = self._item()
        return item.run_id if item else None

    def target(self, action: str) -> Target:
        item = self._item()
        if action == "copy_id":
            return Target(tenant=self.tenant, text=self.key, summary=f"{self.record_type} id")
        if item is None:
            return unavailable("select an operation")
        if action in ("retry", "skip"):
            return self.console.item_target(action, item)
        if action == "logs":
            return Target(tenant=item.tenant, run_id=item.run_id)
        return unavailable("not on this screen")
