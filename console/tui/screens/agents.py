"""Agents: the on-site agents of hosted tenants, as their latest accepted upload tells it.

What an agent last sent lives in the ingest's inbox, not in the journal, so the view is
reloaded on the console's refresh tick (``[console] refresh_seconds``) rather than on the
journal's change marker. A stale agent (no upload yet, or one older than the source's
``max_age_hours``) is shown first and in the palette's alarm colour: its tenant does not run.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.table import Row, RowTable
from engine.views import AgentStatusView

COLUMNS = ("Tenant", "State", "Agent", "Last upload", "Version", "Seq", "Records")
OPTIONAL = ("Records", "Seq", "Version")
"""Left out in this order where the width is short (80 columns)."""


def agent_state(a: AgentStatusView, now: datetime) -> Text:
    """ "ok", or "stale" and why, in the palette's colours."""
    if a.last_upload is None:
        return Text("stale: no upload yet", style=fmt.BAD)
    if a.stale:
        return Text(f"stale: {fmt.age(a.last_upload, now)}", style=fmt.BAD)
    return Text("ok", style=fmt.OK)


def agent_row(a: AgentStatusView, now: datetime) -> Row:
    records = ", ".join(f"{n} {what}" for what, n in sorted(a.counts.items()))
    return Row(
        a.tenant,
        (
            Text(a.tenant, style="bold"),
            agent_state(a, now),
            a.agent or "-",
            fmt.age(a.last_upload, now) if a.last_upload else "never",
            a.version or "-",
            str(a.seq) if a.seq is not None else "-",
            fmt.shorten(records, 40) or "-",
        ),
    )


def agent_line(a: AgentStatusView, now: datetime) -> Text:
    """One line for the tenant screen's summary: who uploaded last, when, which version."""
    text = Text("agent ")
    if a.last_upload is None:
        text.append_text(agent_state(a, now))
        text.append(f"  (runs need an upload within {a.max_age_hours:g} h)")
        return text
    text.append(f"{a.agent} {a.version or ''} seq {a.seq}  last upload ")
    text.append(fmt.age(a.last_upload, now), style=fmt.BAD if a.stale else "")
    if a.stale:
        text.append("  stale: runs stop until it uploads", style=fmt.BAD)
    return text


class AgentsScreen(ConsoleScreen):
    ABOUT = (
        "The on-site agents of hosted tenants: the latest upload each sent, when, from which "
        "ESS version and with which sequence number. A stale agent (red, listed first) has not "
        "uploaded within its max_age_hours, and its tenant does not run until it does. Enter "
        "opens the tenant."
    )
    ACTIONS = ("copy_id",)
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.agents: dict[str, AgentStatusView] = {}

    def crumb(self) -> str:
        return "agents"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        yield RowTable(
            COLUMNS, empty="no tenant has an agent source", id="agents-table", optional=OPTIONAL
        )

    async def load(self) -> None:
        found = await self.console.ops.agents()
        found.sort(key=lambda a: (not a.stale, a.tenant))
        self.agents = {a.tenant: a for a in found}
        now = self.console.now()
        self.query_one("#agents-table", RowTable).set_rows(agent_row(a, now) for a in found)
        stale = sum(1 for a in found if a.stale)
        summary = Text(f"{len(found)} agents, ")
        summary.append(f"{stale} stale", style=fmt.BAD if stale else fmt.OK)
        summary.append(" (a stale agent's tenant does not run)" if stale else "")
        self.query_one("#summary", Static).update(summary)

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.tenant import TenantScreen

        self.app.push_screen(TenantScreen(key))

    def context_tenant(self) -> str | None:
        return self.selected()

    def target(self, action: str) -> Target:
        tenant = self.selected()
        if tenant is None or tenant not in self.agents:
            return unavailable("no agent selected")
        if action == "copy_id":
            agent = self.agents[tenant].agent or tenant
            return Target(tenant=tenant, text=agent, summary=f"agent {agent}")
        return unavailable("not on this screen")
