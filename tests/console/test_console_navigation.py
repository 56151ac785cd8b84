"""Pilot tests for k9s-style navigation: `:` views, `/` filter, `?` help, palette, pause."""

from __future__ import annotations

from console_fake_ops import FakeOps
from console_support import AppFactory, notices, screen_text, settle

from console.tui.actions import ACTIONS
from console.tui.screens.approvals import ApprovalsScreen
from console.tui.screens.failures import FailuresScreen
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.tenants import TenantsScreen
from console.tui.widgets.help import HelpScreen
from console.tui.widgets.table import RowTable


async def test_command_bar_switches_views_and_keeps_a_breadcrumb(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("colon", *"failures", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen) and app.screen.tenant_id is None
        assert "ESS › Tenants › failures" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ItemScreen)
        assert "ESS › Tenants › failures › item 101" in screen_text(app)
        await pilot.press("colon", *"logs", "enter")  # the item's run
        await settle(pilot)
        assert isinstance(app.screen, LogsScreen) and app.screen.run_id == 3
        await pilot.press("colon", *"tenants", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)
        assert len(app.screen_stack) == 2


async def test_command_bar_takes_arguments_and_rejects_nonsense(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("colon", *"failures beta", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen) and app.screen.tenant_id == "beta"
        assert "no open failed items" in screen_text(app)
        await pilot.press("colon", *"frobnicate", "enter")
        await pilot.press("colon", *"tenant nosuch", "enter")
        await pilot.press("colon", *"run x", "enter")
        await settle(pilot)
        text = notices(app)
        assert "Unknown command 'frobnicate'" in text
        assert "No tenant 'nosuch' (tenants: alpha, beta, gamma)" in text
        assert ":run takes a number, not 'x'" in text
        assert isinstance(app.screen, FailuresScreen)


async def test_escape_closes_the_command_bar_before_going_back(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("colon", "a", "escape")
        assert app.screen.query_one("#command").has_class("hidden")
        assert len(app.screen_stack) == 3
        await pilot.press("escape")
        assert isinstance(app.screen, TenantsScreen)


async def test_slash_filters_the_table_and_escape_clears(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tenants", RowTable)
        await pilot.press("slash", *"silver")
        assert [r.key for r in table.shown] == ["beta"]
        await pilot.press("enter")  # back to the table, filter kept
        assert app.screen.focused is table and table.filter_text == "silver"
        await pilot.press("enter")  # drill into the one row left
        await settle(pilot)
        assert app.screen.tenant_id == "beta"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")  # clears the filter, stays
        assert len(table.shown) == 3 and isinstance(app.screen, TenantsScreen)


async def test_help_is_generated_from_the_screens_bindings(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Help: Tenants" in text
        for name in TenantsScreen.ACTIONS:
            assert ACTIONS[name].help in text
        assert "Go to a view" in text and "Pause or resume auto-refresh" in text
        await pilot.press("escape")
        assert isinstance(app.screen, TenantsScreen)


async def test_palette_offers_views_and_actions_with_reasons(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down")  # beta: silver, writes need an elevation
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"action: sync")
        await settle(pilot)
        assert "off: beta is silver" in screen_text(app)
        await pilot.press(*(["backspace"] * 12), *"approvals", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)


async def test_auto_refresh_reloads_and_pause_stops_it(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        before = fake.calls.count(("tenants",))
        app.tick()
        await settle(pilot)
        assert fake.calls.count(("tenants",)) == before + 1
        await pilot.press("p")
        assert app.paused and "paused" in screen_text(app)
        app.tick()
        await settle(pilot)
        assert fake.calls.count(("tenants",)) == before + 1
        await pilot.press("p")
        assert not app.paused


async def test_a_failed_load_is_shown_not_raised(make_app: AppFactory, fake: FakeOps) -> None:
    async def broken(op_id: int) -> object:
        raise RuntimeError("database disk image is malformed")

    fake.operation = broken  # type: ignore[method-assign,assignment]
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        app.run_command("item 101")
        await settle(pilot)
        assert isinstance(app.screen, ItemScreen)
        assert "Could not load item 101: RuntimeError" in notices(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TenantsScreen)
