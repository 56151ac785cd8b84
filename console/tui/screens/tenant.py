"""Tenant: one tenant's runs, failed items, findings, held plans and its configuration."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.agents import agent_line
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.table import Row, RowTable
from engine.views import (
    AgentStatusView,
    FindingView,
    HeldPlanView,
    OperationView,
    RunSummary,
    TenantDetail,
)

RUN_COLUMNS = ("Run", "Status", "Trigger", "Started", "Duration", "Counts", "Actor")
ITEM_COLUMNS = ("Item", "Run", "Status", "Target", "Action", "Kind", "Label", "Tries", "Why")
FINDING_COLUMNS = ("Severity", "Code", "Record", "Label", "Message")
RUN_OPTIONAL = ("Actor", "Trigger", "Duration")
"""Left out in this order where the width is short (80 columns)."""
ITEM_OPTIONAL = ("Run", "Target", "Action")
HELD_COLUMNS = ("Run", "Held", "Would remove", "Ops", "Why")

TABS = ("runs", "failures", "findings", "held", "config")
TAB_ACTIONS = {
    "runs": {"retry_run", "skip_run", "logs", "copy_id"},
    "failures": {"retry", "skip", "explain", "logs", "copy_id"},
    "findings": set(),
    "held": {"approve", "reject", "logs", "copy_id"},
    "config": set(),
}
TAB_LABELS = {"runs": "1 Runs", "failures": "2 Failed", "findings": "3 Findings", "held": "4 Held"}


def run_row(r: RunSummary, now: datetime, *, tenant: bool = False) -> Row:
    kind = " (dry run, would be held)" if r.would_be_held else " (dry run)" if r.dry_run else ""
    cells: list[Text | str] = [Text(f"#{r.id}", style="bold")]
    if tenant:
        cells.append(r.tenant)
    cells += [
        Text.assemble(fmt.status(r.status), kind),
        r.trigger,
        fmt.age(r.started_at, now),
        fmt.duration(r, now),
        fmt.counts(r.counts, ("planned", "done", "failed", "dead", "blocked", "skipped")),
        r.actor,
    ]
    return Row(str(r.id), tuple(cells))


def item_row(o: OperationView, *, tenant: bool = False) -> Row:
    cells: list[Text | str] = [Text(f"#{o.id}", style="bold")]
    if tenant:
        cells.append(o.tenant)
    cells += [
        f"#{o.run_id}",
        fmt.status(o.status),
        o.target,
        o.action,
        o.kind,
        fmt.shorten(o.label, 32),
        str(o.attempts),
        fmt.shorten(why(o), 60),
    ]
    return Row(str(o.id), tuple(cells))


def why(o: OperationView) -> str:
    """The reason and the last error on one line: "throttled: 429 Too Many Requests"."""
    if o.reason and o.last_error and o.reason not in o.last_error:
        return f"{o.reason}: {o.last_error}"
    return o.last_error or o.reason


def finding_row(f: FindingView) -> Row:
    return Row(
        str(f.id),
        (
            Text(f.severity, style=fmt.BAD if f.severity == "blocking" else fmt.WARN),
            f.code,
            f"{f.record_type} {fmt.shorten(f.record_id, 14)}",
            fmt.shorten(f.label, 28),
            fmt.shorten(f.message, 60),
        ),
    )


def held_row(p: HeldPlanView, now: datetime, *, tenant: bool = False) -> Row:
    cells: list[Text | str] = [Text(f"#{p.run_id}", style="bold")]
    if tenant:
        cells.append(p.tenant)
    cells += [
        fmt.age(p.held_at, now),
        Text(fmt.removals(p), style=fmt.HELD),
        str(p.total_operations),
        fmt.shorten("; ".join(p.reasons), 60),
    ]
    return Row(str(p.run_id), tuple(cells))


class TenantScreen(ConsoleScreen):
    ABOUT = (
        "One tenant: its runs (newest first), open failed items, findings of its latest run, "
        "held plans and its configuration (secrets appear only as references). "
        "1-5 or [ ] switch tabs; enter opens the selected run or item."
    )
    ACTIONS = (
        "sync",
        "dry_run",
        "elevate",
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
        *(Binding(str(n), f"tab({n})", show=False) for n in range(1, 6)),
        Binding("left_square_bracket", "cycle(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "cycle(1)", "Next tab", show=False),
        ConsoleScreen.MORE,
        *ConsoleScreen.MARKS,
    ]

    def __init__(self, tenant_id: str) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.detail: TenantDetail | None = None
        self.items: dict[int, OperationView] = {}
        self.runs: dict[int, RunSummary] = {}
        self.findings: dict[int, FindingView] = {}
        self.agents: list[AgentStatusView] = []

    def crumb(self) -> str:
        return self.tenant_id

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("1 Runs", id="runs"):
                yield RowTable(
                    RUN_COLUMNS, empty="no runs yet", id="runs-table", optional=RUN_OPTIONAL
                )
            with TabPane("2 Failed", id="failures"):
                yield RowTable(
                    ITEM_COLUMNS,
                    empty="no open failed items",
                    id="items-table",
                    optional=ITEM_OPTIONAL,
                )
            with TabPane("3 Findings", id="findings"):
                yield RowTable(FINDING_COLUMNS, empty="no findings", id="findings-table")
            with TabPane("4 Held", id="held"):
                yield RowTable(HELD_COLUMNS, empty="no held plans", id="held-table")
            with TabPane("5 Config", id="config"), VerticalScroll():
                yield Static(id="config-text")

    async def load(self) -> None:
        ops = self.console.ops
        detail = await ops.tenant(self.tenant_id)
        runs = await ops.runs(self.tenant_id, limit=50)
        items = await ops.failures(self.tenant_id, limit=self.page)
        findings = await ops.findings(self.tenant_id, limit=self.page)
        totals = {
            "failures": await ops.count_failures(self.tenant_id),
            "findings": await ops.count_findings(self.tenant_id),
        }
        held = await ops.held_plans(self.tenant_id)
        self.agents = await ops.agents(self.tenant_id)  # the inbox: read on every reload
        self.console.remember(detail.health)
        self.detail = detail
        self.runs = {r.id: r for r in runs}
        self.items = {o.id: o for o in items}
        self.findings = {f.id: f for f in findings}
        now = self.console.now()
        self.query_one("#runs-table", RowTable).set_rows(run_row(r, now) for r in runs)
        self.query_one("#items-table", RowTable).set_rows(
            (item_row(o) for o in items), total=totals["failures"]
        )
        self.query_one("#findings-table", RowTable).set_rows(
            (finding_row(f) for f in findings), total=totals["findings"]
        )
        self.query_one("#held-table", RowTable).set_rows(held_row(p, now) for p in held)
        self.query_one("#config-text", Static).update(fmt.pretty(detail.config))
        self.query_one("#summary", Static).update(self._summary(detail, now))
        tabs = self.query_one(TabbedContent)
        counts = {"runs": str(len(runs)), "held": str(len(held))}
        counts["failures"] = self.query_one("#items-table", RowTable).count_label()
        counts["findings"] = self.query_one("#findings-table", RowTable).count_label()
        for pane, n in counts.items():
            tabs.get_tab(pane).label = f"{TAB_LABELS[pane]} ({n})"

    def _summary(self, detail: TenantDetail, now: datetime) -> Text:
        h = detail.health
        text = Text()
        text.append(f"{h.name} ", style="bold")
        text.append_text(fmt.status(h.health))
        text.append(f"  tier {h.tier}  source {h.source}  targets {', '.join(h.targets)}\n")
        text.append(f"schedule {detail.schedule or 'none'} ({detail.timezone})")
        text.append(f"  next run {fmt.age(h.next_run, now)}  elevation ")
        text.append_text(fmt.elevation(h.elevation, now))
        if h.running_on:
            text.append("\nrunning on ", style=fmt.RUNNING)
            text.append(h.running_on)
        for agent in self.agents:
            text.append("\n")
            text.append_text(agent_line(agent, now))
        return text

    def offers(self, name: str) -> bool:
        if name in ("sync", "dry_run", "elevate"):
            return True
        return name in TAB_ACTIONS.get(str(self.query_one(TabbedContent).active), set())

    # ----- tabs -----
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

    # ----- drill down and actions -----
    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.item import ItemScreen
        from console.tui.screens.run import RunScreen

        if table_id in ("runs-table", "held-table"):
            self.app.push_screen(RunScreen(int(key)))
        elif table_id == "items-table":
            self.app.push_screen(ItemScreen(int(key)))

    def scope_tenant(self) -> str | None:
        return self.context_tenant()

    def context_tenant(self) -> str | None:
        return self.tenant_id

    def context_run(self) -> int | None:
        key = self.selected("runs-table") or self.selected("held-table")
        if key is not None:
            return int(key)
        if self.detail and self.detail.health.last_run:
            return self.detail.health.last_run.id
        return None

    def target(self, action: str) -> Target:
        bulk = self.bulk_target(action)
        if bulk is not None:
            return bulk
        tid = self.tenant_id
        if action == "sync":
            return Target(tenant=tid, summary=f"Sync tenant {tid} now.")
        if action == "dry_run":
            return Target(tenant=tid, summary=f"Plan tenant {tid} without applying anything.")
        if action == "elevate":
            return self.console.elevation_target(tid)
        if action in ("retry", "skip", "explain"):
            key = self.selected("items-table")
            if key is None or int(key) not in self.items:
                return unavailable("select a failed item (tab 2)")
            return self.console.item_target(action, self.items[int(key)])
        if action in ("retry_run", "skip_run"):
            key = self.selected("runs-table")
            if key is None or int(key) not in self.runs:
                return unavailable("select a run (tab 1)")
            return self.console.run_retry_target(self.runs[int(key)], action=action)
        if action in ("approve", "reject"):
            key = self.selected("held-table")
            if key is None:
                return unavailable("select a held plan (tab 4)")
            return self.console.held_target(action, tid, int(key))
        if action == "logs":
            run = self.context_run()
            return unavailable("no runs yet") if run is None else Target(tenant=tid, run_id=run)
        if action == "copy_id":
            table = self.active_table()
            key = table.selected_key() if table else None
            prefix = {"runs-table": "run ", "held-table": "run ", "items-table": "item "}
            if table is None or key is None or table.id not in prefix:
                return Target(tenant=tid, text=tid)
            return Target(tenant=tid, text=key, summary=prefix[table.id] + key)
        return unavailable("not on this screen")
