"""The on-site agents in the console: `:agents` lists every hosted tenant's agent, stale ones
first and in the alarm colour, and follows new uploads on the refresh tick (they arrive in the
ingest's inbox, not in the journal); the tenant screen's summary says the same of its agent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from console_fake_ops import NOW, FakeOps
from console_support import AppFactory, screen_text, settle
from rich.text import Text

from console.tui import fmt
from console.tui.screens.agents import AgentsScreen
from console.tui.screens.tenant import TenantScreen
from console.tui.widgets.table import RowTable
from engine.views import AgentStatusView


class UploadingOps(FakeOps):
    """gamma's agent uploads while the console looks at it."""

    def __init__(self) -> None:
        super().__init__()
        self.uploaded: AgentStatusView | None = None

    async def agents(self, tenant_id: str | None = None) -> list[AgentStatusView]:
        found = await super().agents(tenant_id)
        if self.uploaded is None:
            return found
        return [self.uploaded if a.tenant == "gamma" else a for a in found]


def state_cell(table: RowTable, tenant: str) -> Text:
    (row,) = [r for r in table.rows_all if r.key == tenant]
    cell = row.cells[1]
    assert isinstance(cell, Text)
    return cell


async def test_agents_view_shows_stale_agents_first_in_red(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_command("agents")
        await settle(pilot)
        assert isinstance(app.screen, AgentsScreen)
        table = app.screen.query_one("#agents-table", RowTable)
        assert [r.key for r in table.rows_all] == ["gamma", "beta"]
        assert state_cell(table, "gamma").plain == "stale: no upload yet"
        assert state_cell(table, "gamma").style == fmt.BAD
        assert state_cell(table, "beta").style == fmt.OK
        text = screen_text(app)
        assert "2 agents, 1 stale" in text
        assert "beta-skola" in text and "20m ago" in text and "0.1.0" in text and "412" in text
        await pilot.press("down", "enter")  # the cursor on beta: its tenant screen
        await settle(pilot)
        assert isinstance(app.screen, TenantScreen) and app.screen.tenant_id == "beta"
        assert "agent beta-skola 0.1.0 seq 412  last upload 20m ago" in screen_text(app)


async def test_a_new_upload_shows_on_the_next_refresh_tick(make_app: AppFactory) -> None:
    ops = UploadingOps()
    app = make_app(ops)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_command("agents")
        await settle(pilot)
        table = app.screen.query_one("#agents-table", RowTable)
        assert state_cell(table, "gamma").plain.startswith("stale")
        (gamma,) = await FakeOps().agents("gamma")
        ops.uploaded = replace(
            gamma,
            agent="gamma-skola",
            last_upload=NOW - timedelta(minutes=3),
            version="0.1.0",
            seq=1,
            stale=False,
        )
        app.tick()  # the refresh timer's call: the inbox is not in the journal's marker
        await settle(pilot)
        assert state_cell(table, "gamma").plain == "ok"
        assert [r.key for r in table.rows_all] == ["beta", "gamma"]
        assert "2 agents, 0 stale" in screen_text(app)


async def test_a_stale_agent_is_said_on_its_tenant_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.run_command("tenant gamma")
        await settle(pilot)
        assert "agent stale: no upload yet  (runs need an upload within 26 h)" in screen_text(app)
        app.run_command("tenant alpha")  # no agent source: no agent line
        await settle(pilot)
        assert "agent " not in screen_text(app)
