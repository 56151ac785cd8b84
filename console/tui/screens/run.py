"""Run: what one run did: operations by status and type, its items, duration and timeline."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, TabbedContent, TabPane

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.screens.tenant import ITEM_OPTIONAL, item_row
from console.tui.widgets.table import Row, RowTable
from engine.views import OperationView, RunDetail

COUNT_COLUMNS = ("Status", "Action", "Kind", "Count")
EVENT_COLUMNS = ("Time", "Level", "Message")
TABS = ("items", "counts", "timeline")


def event_level(level: str) -> Text:
    colour = {"error": fmt.BAD, "warning": fmt.WARN, "info": "", "debug": fmt.DIM}
    return Text(level, style=colour.get(level, ""))


def problems_first(ops: list[OperationView]) -> list[OperationView]:
    return sorted(ops, key=lambda o: (o.status not in fmt.PROBLEM_STATUSES, o.id))


class RunScreen(ConsoleScreen):
    ABOUT = (
        "One run: its status, duration and counts, the guard's verdict, its items (trouble "
        "first), operations counted by status and type, and the first and most telling events. "
        "1-3 or [ ] switch tabs; enter opens an item; l opens the full log."
    )
    ACTIONS = (
        "retry",
        "skip",
        "retry_run",
        "skip_run",
        "approve",
        "reject",
        "logs",
        "explain",
        "copy_id",
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings(*ACTIONS),
        *(Binding(str(n), f"tab({n})", show=False) for n in range(1, 4)),
        Binding("left_square_bracket", "cycle(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "cycle(1)", "Next tab", show=False),
        ConsoleScreen.MORE,
        *ConsoleScreen.MARKS,
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.detail: RunDetail | None = None
        self.items: dict[int, OperationView] = {}

    def crumb(self) -> str:
        return f"run {self.run_id}"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("1 Items", id="items"):
                yield RowTable(
                    ("Item", "Run", "Status", "Target", "Action", "Kind", "Label", "Tries", "Why"),
                    empty="no operations",
                    id="items-table",
                    optional=ITEM_OPTIONAL,
                )
            with TabPane("2 Counts", id="counts"):
                yield RowTable(COUNT_COLUMNS, empty="no operations", id="counts-table")
            with TabPane("3 Timeline", id="timeline"):
                yield RowTable(EVENT_COLUMNS, empty="no events", id="timeline-table")

    async def load(self) -> None:
        ops = self.console.ops
        detail = await ops.run(self.run_id)
        items = await self._items()
        total = await ops.count_operations(self.run_id)
        self.detail = detail
        self.items = {o.id: o for o in items}
        now = self.console.now()
        self.query_one("#summary", Static).update(self._summary(detail, now))
        self.query_one("#items-table", RowTable).set_rows((item_row(o) for o in items), total=total)
        self.query_one("#counts-table", RowTable).set_rows(
            Row(
                f"{c.status}/{c.action}/{c.kind}",
                (fmt.status(c.status), c.action, c.kind, str(c.count)),
            )
            for c in sorted(detail.operations, key=lambda c: (c.status, c.kind, c.action))
        )
        self.query_one("#timeline-table", RowTable).set_rows(
            Row(
                str(e.id),
                (fmt.clock_seconds(e.at), event_level(e.level), fmt.shorten(e.message, 100)),
            )
            for e in detail.timeline
        )

    async def _items(self) -> list[OperationView]:
        """A page of the run's items with its failed, dead and blocked ones first, wherever
        they are in the run (not only those among the first page)."""
        ops, found = self.console.ops, {}
        for status in sorted(fmt.PROBLEM_STATUSES):
            for o in await ops.operations(self.run_id, status=status, limit=self.page):
                found[o.id] = o
        for o in await ops.operations(self.run_id, limit=self.page):
            found.setdefault(o.id, o)
        return problems_first(list(found.values()))

    def _summary(self, d: RunDetail, now: datetime) -> Text:
        s = d.summary
        text = Text()
        text.append(f"Run #{s.id} of {s.tenant} ", style="bold")
        text.append_text(fmt.status(s.status))
        if s.dry_run:
            text.append(" (dry run)", style=fmt.DIM)
        text.append(f"  {s.trigger} by {s.actor}  started {fmt.clock_time(s.started_at)}")
        text.append(f" ({fmt.age(s.started_at, now)})  took {fmt.duration(s, now)}\n")
        keys = ("planned", "done", "failed", "dead", "blocked", "skipped")
        if d.progress is not None:  # live, from the items, not the counts stored at the end
            text.append(d.progress.line(), style=fmt.RUNNING)
            text.append(f"  findings {d.findings}")
        else:
            text.append(f"{fmt.counts(s.counts, keys)}  findings {d.findings}")
        if s.targets:
            text.append(f"  targets {', '.join(s.targets)}")
        if s.running_on:
            text.append("\nrunning on ", style=fmt.RUNNING)
            text.append(s.running_on)
        if d.guard.get("held"):
            reasons = "; ".join(s.held_reasons) or "over a threshold"
            if s.dry_run:
                text.append("\na real run would be held by the guard: ", style=fmt.HELD)
            elif s.status == "held":
                text.append("\nheld by the guard: ", style=fmt.HELD)
            else:  # approved, rejected or replaced since: the verdict is history now
                text.append(f"\nthe guard held it (now {s.status}): ", style=fmt.DIM)
            text.append(reasons)
        if s.error:
            text.append(f"\nerror: {s.error}", style=fmt.BAD)
        return text

    def offers(self, name: str) -> bool:
        if name in ("approve", "reject"):
            return self.detail is not None and self.detail.summary.status == "held"
        if name in ("retry", "skip", "explain"):
            return self.query_one(TabbedContent).active == "items"
        return True

    def action_tab(self, number: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[number - 1]
        tables = tabs.get_pane(TABS[number - 1]).query(RowTable)
        self.set_focus(tables.first() if tables else None)
        self.refresh_bindings()

    def action_cycle(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        index = TABS.index(tabs.active) if tabs.active in TABS else 0
        self.action_tab((index + step) % len(TABS) + 1)

    def on_tabbed_content_tab_activated(self) -> None:
        self.refresh_bindings()

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.item import ItemScreen

        if table_id == "items-table":
            self.app.push_screen(ItemScreen(int(key)))

    def scope_tenant(self) -> str | None:
        return self.context_tenant()

    def context_tenant(self) -> str | None:
        return self.detail.summary.tenant if self.detail else None

    def context_run(self) -> int | None:
        return self.run_id

    def target(self, action: str) -> Target:
        bulk = self.bulk_target(action)
        if bulk is not None:
            return bulk
        tenant = self.context_tenant()
        if self.detail is None:
            return unavailable("still loading")
        if action in ("retry", "skip", "explain"):
            key = self.selected("items-table")
            if key is None or int(key) not in self.items:
                return unavailable("select an item (tab 1)")
            return self.console.item_target(action, self.items[int(key)])
        if action in ("retry_run", "skip_run"):
            return self.console.run_retry_target(
                self.detail.summary, self.detail.open_failures, action=action
            )
        if action in ("approve", "reject"):
            if self.detail.summary.status != "held":
                return unavailable(f"run {self.run_id} is {self.detail.summary.status}, not held")
            return self.console.held_target(action, tenant or "", self.run_id)
        if action == "logs":
            return Target(tenant=tenant, run_id=self.run_id)
        if action == "copy_id":
            key = self.selected("items-table")
            if key is not None:
                return Target(tenant=tenant, text=key, summary=f"item {key}")
            return Target(tenant=tenant, text=str(self.run_id), summary=f"run {self.run_id}")
        return unavailable("not on this screen")
