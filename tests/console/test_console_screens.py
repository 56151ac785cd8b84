"""Pilot tests: every screen shows what the facade answers; drill-down and back move around."""

from __future__ import annotations

from console_fake_ops import FakeOps
from console_support import AppFactory, screen_text, settle

from console.tui.screens.approvals import ApprovalsScreen
from console.tui.screens.explain import ExplainScreen
from console.tui.screens.failures import FailuresScreen
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.run import RunScreen
from console.tui.screens.runs import RunsScreen
from console.tui.screens.search import SearchScreen
from console.tui.screens.tenant import TenantScreen
from console.tui.screens.tenants import TenantsScreen
from console.tui.widgets.table import RowTable


async def test_tenants_lists_every_tenant_in_the_facades_order(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)
        table = app.screen.query_one("#tenants", RowTable)
        expected = [t.id for t in await fake.tenants()]
        assert [r.key for r in table.shown] == expected == ["alpha", "beta", "gamma"]
        text = screen_text(app)
        assert "3 tenants" in text and "1 failing" in text and "1 held" in text
        assert "#3 partial" in text and "never" in text
        assert "1h ago" in text  # the age comes from the injected clock


async def test_enter_opens_a_tenant_and_escape_goes_back(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TenantScreen)
        assert app.screen.tenant_id == "alpha"
        text = screen_text(app)
        assert "ESS › Tenants › alpha" in text
        assert "Runs (3)" in text and "Failed (4)" in text and "Findings (2)" in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)


async def test_tenant_tabs_show_failures_findings_and_config_without_secrets(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("2")
        assert "Björn Berg" in screen_text(app)
        await pilot.press("3")
        assert "person.no_school" in screen_text(app)
        await pilot.press("5")
        text = screen_text(app)
        assert "env:GRAPH_SECRET" in text  # secrets appear as references only


async def test_beta_held_tab_and_run_screen_show_the_held_plan(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("4")
        assert "delete user 120" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == 4
        assert "held by the guard" in screen_text(app)


async def test_run_screen_shows_counts_duration_items_and_timeline(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        text = screen_text(app)
        assert "Run #3 of alpha partial" in text
        assert "took 1m 23s" in text
        items = app.screen.query_one("#items-table", RowTable)
        assert [r.key for r in items.shown][:4] == ["101", "102", "103", "104"]  # trouble first
        assert items.shown[-1].key == "105"
        await pilot.press("2")
        assert "class.member" in screen_text(app)
        await pilot.press("3")
        assert "throttled by microsoft" in screen_text(app)


async def test_item_screen_shows_advice_attempts_source_and_desired(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ItemScreen) and app.screen.op_id == 101
        text = screen_text(app)
        assert "What to do: The target was throttling" in text
        assert "429 Too Many Requests" in text
        assert "Source record" in text and '"familyName": "Andersson"' in text
        assert "Desired state" in text and '"mailNickname": "anna.andersson"' in text
        assert "ESS › Tenants › alpha › item 101" in text
        assert len(app.screen.query_one("#attempts", RowTable).shown) == 5


async def test_failures_and_runs_views_cover_all_tenants(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_command("failures")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen)
        assert "4 open items in all tenants: 1 blocked, 1 dead, 2 failed" in screen_text(app)
        app.run_command("runs")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        keys = [r.key for r in app.screen.query_one(RowTable).shown]
        assert keys == ["4", "3", "2", "1"]


async def test_approvals_shows_what_a_held_plan_would_remove(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_command("approvals")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        text = screen_text(app)
        assert "delete user 120, suspend user 3" in text
        assert "Cecilia C." in text  # examples of what would go
        assert "30%" in text


async def test_search_finds_people_and_enter_explains_one(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.run_command("search")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"anna", "enter")
        await settle(pilot)
        assert ("search", "anna") in fake.calls
        text = screen_text(app)
        assert "2 hits for 'anna'" in text
        assert "microsoft (missing)" in text
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        assert ("explain", "alpha", "person", "p-anna") in fake.calls
        assert "creating her user failed" in screen_text(app)


async def test_logs_follow_a_live_run_with_after_id(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")  # alpha's last run
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen) and screen.run_id == 3
        assert "item 101 failed" in screen_text(app)
        last = screen.last_id
        fake.add_event(3, "info", "a new line arrives")
        screen.reload()
        await settle(pilot)
        assert ("events", 3, last) in fake.calls  # only what is new is asked for
        assert "a new line arrives" in screen_text(app)


async def test_logs_filter_find_level_and_wrap(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(LogsScreen(3))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        await pilot.press("slash", *"item", "enter")
        assert [e.message[:8] for e in screen.shown()] == ["item 101", "item 102", "item 103"]
        assert "read 412 records" not in screen_text(app)
        await pilot.press("escape")
        assert len(screen.shown()) == len(screen.events)
        await pilot.press("v")
        assert {e.level for e in screen.shown()} == {"warning", "error"}
        await pilot.press("v")
        assert {e.level for e in screen.shown()} == {"error"}
        await pilot.press("v", "ctrl+f", *"blocked", "enter")
        assert len(screen.matches) == 2 and screen.match_index == 0
        assert "find 'blocked' 1/2" in screen_text(app)
        await pilot.press("n")
        assert screen.match_index == 1
        await pilot.press("N")
        assert screen.match_index == 0
        wide = screen.events[-1].message
        await pilot.press("w")
        assert screen.wrap and "wrap ·" in screen_text(app).replace("no wrap", "")
        assert wide
