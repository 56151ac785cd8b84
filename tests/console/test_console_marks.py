"""Marks (space, as in k9s): one action retries or skips a selection, a cause or a whole run."""

from __future__ import annotations

import re

from console_fake_ops import FakeOps
from console_support import AppFactory, notices, screen_text, settle
from textual.pilot import Pilot

from console.tui.screens.run import RunScreen
from console.tui.widgets.dialogs import ConfirmDialog
from console.tui.widgets.table import RowTable


def writes(fake: FakeOps) -> list[tuple[object, ...]]:
    return [c for c in fake.calls if c[0] in ("retry", "skip")]


async def alpha_failures(pilot: Pilot[None]) -> RowTable:
    await settle(pilot)
    await pilot.press("enter")  # alpha, the first tenant
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    return pilot.app.screen.query_one("#items-table", RowTable)


async def test_space_marks_rows_and_retry_takes_every_marked_one(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        table = await alpha_failures(pilot)
        first, second = table.shown[0].key, table.shown[1].key
        await pilot.press("space", "space")  # marks a row and moves on, as k9s does
        await settle(pilot)
        assert table.marked_keys() == [first, second]
        assert "2 marked" in screen_text(app) and "●" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Retry 2 marked items of run 3 in tenant alpha" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert writes(fake) == [("retry", (int(first), int(second)))]
        assert table.marked_keys() == []  # spent with the action


async def test_space_again_unmarks_and_u_clears(make_app: AppFactory, fake: FakeOps) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        table = await alpha_failures(pilot)
        await pilot.press("space", "up", "space")
        assert table.marked_keys() == []
        await pilot.press("asterisk")
        assert len(table.marked_keys()) == len(table.shown) == 4
        await pilot.press("u")
        assert table.marked_keys() == []
        await pilot.press("r")  # nothing marked: the selected row alone
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert re.search(r"Retry 1 (failed|dead|blocked) item of run 3", screen_text(app))


async def test_m_marks_the_cause_and_skip_asks_a_reason_for_all(
    make_app: AppFactory, fake: FakeOps
) -> None:
    fake.ops_[106] = fake.ops_[101].__class__(**{**fake.ops_[101].__dict__, "id": 106})
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        table = await alpha_failures(pilot)
        while table.selected_key() != "101":
            await pilot.press("down")
        await pilot.press("m")
        await settle(pilot)
        assert table.marked_keys() == ["101", "106"]
        assert "2 items of mem create user failed throttled marked" in notices(app).replace(
            "microsoft", "mem"
        )
        await pilot.press("k")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Skip 2 marked items" in screen_text(app)
        assert "2 × microsoft create user failed throttled" in screen_text(app)
        await pilot.press(*"fixed at school", "enter")
        await settle(pilot)
        assert writes(fake) == [("skip", (101, 106), "fixed at school")]


async def test_a_marked_item_that_is_no_open_failure_is_left_out(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        table = app.screen.query_one("#items-table", RowTable)
        await pilot.press("asterisk")  # every item of the run, the done one too
        assert "105" in table.marked_keys()
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        assert "Retry 4 marked items of run 3" in text
        assert "1 marked items are not open failures and are left out" in text


async def test_skip_all_skips_every_open_failure_of_the_run(
    make_app: AppFactory, fake: FakeOps
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        await pilot.press("K")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Skip 4 failed items of run 3 in tenant alpha" in screen_text(app)
        await pilot.press(*"term ends", "enter")
        await settle(pilot)
        assert writes(fake) == [("skip", (101, 102, 103, 104), "term ends")]


async def test_the_failures_view_counts_its_causes(make_app: AppFactory, fake: FakeOps) -> None:
    for n in (106, 107):
        fake.ops_[n] = fake.ops_[101].__class__(**{**fake.ops_[101].__dict__, "id": n})
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.run_command("failures alpha")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "by cause (m marks one): 3 × microsoft create user failed throttled;" in text
