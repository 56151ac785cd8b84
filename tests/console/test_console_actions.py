"""Pilot tests for every action, allowed and refused (read-only, tier, missing elevation)."""

from __future__ import annotations

from console_fake_ops import FakeOps
from console_support import AppFactory, notices, screen_text, settle
from textual.pilot import Pilot

from console.tui.app import ConsoleApp
from console.tui.screens.explain import ExplainScreen
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.run import RunScreen
from console.tui.widgets.dialogs import ConfirmDialog, ElevationDialog
from console.tui.widgets.help import HelpScreen
from console.tui.widgets.table import RowTable


def writes(fake: FakeOps) -> list[tuple[object, ...]]:
    return [c for c in fake.calls if c[0] in ("retry", "skip", "sync", "approve", "reject")]


def footer_state(app: ConsoleApp, key: str) -> bool | None:
    """Whether the footer shows ``key`` enabled (True), greyed (False) or not at all (None)."""
    active = app.screen.active_bindings.get(key)
    return None if active is None else active.enabled


async def open_alpha_failures(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def test_retry_asks_with_blast_radius_then_retries(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Retry 1 failed item of run 3 in tenant alpha" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert writes(fake) == [("retry", (101,))]
        assert fake.ops_[101].status == "done"
        assert "101" not in [r.key for r in app.screen.query_one("#items-table", RowTable).shown]
        assert "items retried" in notices(app)


async def test_cancelled_confirm_changes_nothing(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert writes(fake) == []
        assert "Retry cancelled: Nothing was changed." in notices(app)


async def test_retry_all_failed_items_of_a_run(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert "Retry 4 failed items of run 3 in tenant alpha." in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert writes(fake) == [("retry", (101, 102, 103, 104))]


async def test_retry_is_off_for_an_item_that_is_done(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ItemScreen(105))
        await settle(pilot)
        assert footer_state(app, "r") is False
        await pilot.press("r")
        await settle(pilot)
        assert writes(fake) == []
        assert "only failed items can be retried" in notices(app)


async def test_skip_needs_a_reason(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        await pilot.press("down", "k")
        await settle(pilot)
        assert "Skip 1 dead item of run 3 in tenant alpha" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "A reason is needed." in screen_text(app)
        await pilot.press(*"left school", "enter")
        await settle(pilot)
        assert writes(fake) == [("skip", (102,), "left school")]


async def test_sync_and_dry_run_of_a_bronze_tenant(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert ("sync", "alpha", True, "console") in fake.calls  # no confirm for a dry run
        await pilot.press("s")
        await settle(pilot)
        assert "Sync tenant alpha now" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert writes(fake) == [
            ("sync", "alpha", True, "console"),
            ("sync", "alpha", False, "console"),
        ]
        assert "Sync of alpha" in notices(app)


async def test_silver_write_asks_for_an_elevation_then_approves(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.run_command("approvals")
        await settle(pilot)
        assert footer_state(app, "a") is False  # shown, greyed: beta is silver
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ElevationDialog)
        assert "beta is silver: activate an elevation" in screen_text(app)
        await pilot.press(*"ticket 4711", "enter")
        await settle(pilot)
        assert ("elevate", "beta", "ticket 4711", 60) in fake.calls
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "apply 131 operations, among them delete user 120, suspend user 3" in dialog.body
        assert "Under elevation #1 (ticket 4711)" in dialog.body
        assert "delete user 120" in screen_text(app)
        await pilot.press(*"checked with the school", "enter")
        await settle(pilot)
        assert writes(fake) == [("approve", 4, "checked with the school")]
        assert "nothing waits for approval" in screen_text(app)
        assert footer_state(app, "a") is False  # still shown, greyed: nothing selected


async def test_reject_with_an_active_elevation_and_elevate_key(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "e")  # beta
        await settle(pilot)
        await pilot.press(*"incident 9", "enter")
        await settle(pilot)
        assert "Elevation #1 on beta is active" in notices(app)
        assert "elevated: beta" in screen_text(app)
        app.run_command("approvals")
        await settle(pilot)
        assert footer_state(app, "x") is True
        await pilot.press("x")
        await settle(pilot)
        assert "Reject the held plan of run 4 in tenant beta" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert writes(fake) == [("reject", 4, "")]


async def test_gold_elevation_waits_for_the_customer(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # gamma
        await settle(pilot)
        assert footer_state(app, "s") is False
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ElevationDialog)
        assert "customer's approver" in screen_text(app)
        await pilot.press(*"change 12", "enter")
        await settle(pilot)
        assert writes(fake) == []
        assert "waits for the customer's approval" in notices(app)
        gamma = app.screen.query_one("#tenants", RowTable).shown[2]
        assert gamma.key == "gamma" and "awaiting approval" in gamma.haystack
        # pressing again explains instead of asking a second time
        await pilot.press("s")
        await settle(pilot)
        elevations = [c for c in fake.calls if c[0] == "elevate"]
        assert elevations == [("elevate", "gamma", "change 12", 60)]
        # once the customer approves, the same key goes through
        await fake.approve_elevation(1, approver="customer:rektor")
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert writes(fake) == [("sync", "gamma", False, "console")]


async def test_read_only_shows_writes_disabled_and_explains(make_app: AppFactory) -> None:
    fake = FakeOps(read_only=True)
    app = make_app(fake, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in screen_text(app)
        assert footer_state(app, "s") is False
        assert footer_state(app, "l") is True
        await pilot.press("s", "e")
        await settle(pilot)
        assert writes(fake) == [] and not [c for c in fake.calls if c[0] == "elevate"]
        assert "Sync refused: the console is read-only" in notices(app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("2", "r", "k")
        await settle(pilot)
        assert writes(fake) == []
        assert notices(app).count("the console is read-only") >= 3
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "off: the console is read-only" in screen_text(app)


async def test_console_read_only_even_when_the_facade_is_not(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        assert footer_state(app, "r") is False
        await pilot.press("r")
        await settle(pilot)
        assert writes(fake) == []


async def test_logs_copy_and_explain_keys(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        await pilot.press("y")
        assert app.clipboard == "101"
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        assert ("explain", "alpha", "person", "p-anna") in fake.calls
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LogsScreen) and app.screen.run_id == 3


async def test_a_facade_error_is_shown_and_the_console_carries_on(
    make_app: AppFactory, fake: FakeOps
) -> None:
    async def broken(op_ids: object) -> object:
        raise RuntimeError("journal is locked")

    fake.retry = broken  # type: ignore[method-assign,assignment]
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_alpha_failures(pilot)
        await pilot.press("r", "y")
        await settle(pilot)
        assert "Retry failed: RuntimeError: journal is locked" in notices(app)
        await pilot.press("1")
        assert app.is_running
