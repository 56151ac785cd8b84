"""The console against the real engine: the scenario journal made by real runs of the engine."""

from __future__ import annotations

from pathlib import Path

from console_support import notices, screen_text, settle

from console.tui.app import ConsoleApp
from console.tui.screens.approvals import ApprovalsScreen
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.run import RunScreen
from console.tui.screens.tenant import TenantScreen
from console.tui.widgets.dialogs import ConfirmDialog
from console.tui.widgets.table import RowTable
from engine.ops import Ops


async def test_every_screen_loads_from_the_scenario(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        failures = await ops.failures("alpha")
        held = await ops.held_plans("beta")
        assert failures and held, "the scenario should have failed items and a held plan"
        app = ConsoleApp(ops, refresh_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#tenants", RowTable)
            assert [r.key for r in table.shown] == [t.id for t in await ops.tenants()]
            app.run_command("tenant alpha")
            await settle(pilot)
            assert isinstance(app.screen, TenantScreen)
            await pilot.press("2")
            keys = [r.key for r in app.screen.query_one("#items-table", RowTable).shown]
            assert keys == [str(o.id) for o in failures]
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ItemScreen)
            assert "What to do" in screen_text(app)
            app.push_screen(RunScreen(failures[0].run_id))
            await settle(pilot)
            app.push_screen(LogsScreen(failures[0].run_id))
            await settle(pilot)
            app.run_command("approvals")
            await settle(pilot)
            assert isinstance(app.screen, ApprovalsScreen)
            assert f"#{held[0].run_id}" in screen_text(app)
            app.run_command("search " + failures[0].label.split()[0])
            await settle(pilot)
            assert "Could not load" not in notices(app)


async def test_retry_through_the_real_facade_is_audited(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        item = (await ops.failures("alpha"))[0]
        app = ConsoleApp(ops, refresh_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.push_screen(ItemScreen(item.id))
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")
            await settle(pilot)
        audit = await ops.audit("alpha")
        assert any(a.action == "retry" and a.actor == "console:test" for a in audit)


async def test_read_only_facade_refuses_and_the_console_says_why(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test", read_only=True) as ops:
        item = (await ops.failures("alpha"))[0]
        app = ConsoleApp(ops, refresh_seconds=0)
        assert app.read_only
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.push_screen(ItemScreen(item.id))
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmDialog)
            assert "read-only" in notices(app)
        assert (await ops.operation(item.id)).operation.status == item.status


async def test_retry_all_after_one_item_was_retried_alone(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        items = await ops.failures("alpha")
        run_id = items[0].run_id
        mine = [o for o in items if o.run_id == run_id]
        assert len(mine) >= 2
        await ops.retry([mine[0].id])
        app = ConsoleApp(ops, refresh_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.push_screen(RunScreen(run_id))
            await settle(pilot)
            await pilot.press("R")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDialog)
            assert f"Retry {len(mine) - 1} failed items of run {run_id}" in screen_text(app)
            await pilot.press("y")
            await settle(pilot)
            assert "refused" not in notices(app)
        assert await ops.open_failures(run_id) == []
