"""Live views: every screen follows the journal when someone else writes to it.

Each test writes through a second facade, on a connection of its own (as the CLI, the
scheduler, another console or the MCP server would), then drives the console's change signal
(:meth:`ConsoleApp.check_changes`, what its watch timer calls) instead of waiting on a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from console_support import screen_text, settle

from console.tui.app import ConsoleApp
from console.tui.screens.item import ItemScreen
from console.tui.screens.run import RunScreen
from console.tui.screens.tenant import TenantScreen
from console.tui.widgets.table import RowTable
from engine.ops import Ops


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def live_app(ops: Ops, clock: Clock | None = None) -> ConsoleApp:
    # no timers: the test drives the change signal and the clock itself
    return ConsoleApp(ops, refresh_seconds=0, watch_seconds=0, clock=clock)


def row_text(app: ConsoleApp, table: str, key: str) -> str:
    rows = {r.key: r.haystack for r in app.screen.query_one(f"#{table}", RowTable).rows_all}
    return rows[key]


async def test_no_change_in_the_journal_means_no_reload(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        app = live_app(ops)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            assert not await app.check_changes()
            async with await Ops.open(scenario_config, actor="cli:test") as other:
                await other.elevate("beta", reason="ticket 4711", minutes=30)
            assert await app.check_changes()
            assert not await app.check_changes()


async def test_a_skip_elsewhere_updates_the_item_and_the_runs_retry_all(
    scenario_config: Path,
) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        open_items = await ops.failures("alpha")
        item = open_items[0]
        before = len(await ops.open_failures(item.run_id))
        assert before >= 2, "the scenario should leave several open failures in one run"
        app = live_app(ops)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            app.push_screen(RunScreen(item.run_id))
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RunScreen)
            assert f"Retry {before} failed items" in screen.target("retry_run").summary
            app.push_screen(ItemScreen(item.id))
            await settle(pilot)
            assert item.status in screen_text(app)

            async with await Ops.open(scenario_config, actor="cli:test") as other:
                await other.skip([item.id], reason="the school fixes the record")
            assert await app.check_changes()
            await settle(pilot)
            assert "skipped" in screen_text(app)  # the item in front, at once

            await pilot.press("escape")  # back to the run: it reloads as it comes to the front
            await settle(pilot)
            assert app.screen is screen
            assert screen.detail is not None and screen.detail.open_failures == before - 1
            assert f"Retry {before - 1} failed items" in screen.target("retry_run").summary
            assert "skipped" in row_text(app, "items-table", str(item.id))


async def test_the_held_header_goes_once_the_plan_is_approved_elsewhere(
    scenario_config: Path,
) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        (plan,) = await ops.held_plans("beta")
        app = live_app(ops)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            app.push_screen(RunScreen(plan.run_id))
            await settle(pilot)
            assert "held by the guard" in screen_text(app)
            assert "a Approve" in screen_text(app)

            async with await Ops.open(scenario_config, actor="cli:test") as other:
                await other.elevate("beta", reason="approve the leavers", minutes=30)
                await other.approve(plan.run_id, reason="the leavers are real")
            assert await app.check_changes()
            await settle(pilot)
            text = screen_text(app)
            assert "held by the guard:" not in text
            assert "the guard held it (now" in text
            assert "a Approve" not in text


async def test_tenants_show_a_run_made_elsewhere_and_fresh_ages(scenario_config: Path) -> None:
    clock = Clock()
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        app = live_app(ops, clock)
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            before = row_text(app, "tenants", "alpha")

            async with await Ops.open(scenario_config, actor="cli:test") as other:
                run = await other.sync("alpha", trigger="schedule")
            assert f"#{run.id} " not in before
            clock.now = run.started_at
            assert await app.check_changes()
            await settle(pilot)
            alpha = row_text(app, "tenants", "alpha")
            assert f"#{run.id} " in alpha and "0s ago" in alpha

            # into a tenant and back six minutes later: the ages are of now, not of then
            app.push_screen(TenantScreen("alpha"))
            await settle(pilot)
            clock.now += timedelta(minutes=6)
            await pilot.press("escape")
            await settle(pilot)
            assert "6m" in row_text(app, "tenants", "alpha")


async def test_run_counts_follow_a_retry_made_elsewhere(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        app = live_app(ops)
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            app.push_screen(TenantScreen("alpha"))
            await settle(pilot)
            table = app.screen.query_one("#runs-table", RowTable)
            runs_before = len(table.rows_all)

            async with await Ops.open(scenario_config, actor="cli:test") as other:
                item = (await other.failures("alpha"))[0]
                await other.retry([item.id])
            assert await app.check_changes()
            await settle(pilot)
            assert len(table.rows_all) == runs_before + 1  # the retry run is listed


async def test_paused_the_console_does_not_follow_until_resumed(scenario_config: Path) -> None:
    async with await Ops.open(scenario_config, actor="console:test") as ops:
        app = live_app(ops)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await app.check_changes()
            seen = app.marker
            await pilot.press("p")
            async with await Ops.open(scenario_config, actor="cli:test") as other:
                await other.elevate("beta", reason="ticket 4712", minutes=30)
            app.look_for_changes()  # what the timer calls: paused, it does not look
            await settle(pilot)
            assert app.marker == seen and "⏸ paused" in screen_text(app)
            await pilot.press("p")
            assert await app.check_changes()
