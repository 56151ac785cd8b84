"""Honest counts in the console: a list loaded a page at a time says "N of M" and `+` loads more."""

from __future__ import annotations

import pytest
from console_fake_ops import FakeOps
from console_support import AppFactory, screen_text, settle

from console.tui.screens.base import ConsoleScreen
from console.tui.screens.run import RunScreen
from console.tui.screens.tenant import TenantScreen
from console.tui.widgets.table import RowTable


async def test_run_items_say_n_of_m_and_load_more(
    make_app: AppFactory, fake: FakeOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ConsoleScreen, "PAGE", 1)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        table = app.screen.query_one("#items-table", RowTable)
        # a page of one per problem status and one of all: problems first (a failed, the dead
        # and the blocked one), and the table says how many there are in all
        assert [r.key for r in table.shown] == ["101", "102", "103"]
        assert table.total == 5
        assert "3 of 5 rows; + loads more" in screen_text(app)
        await pilot.press("plus")
        await settle(pilot)
        assert [r.key for r in table.shown] == ["101", "102", "103", "104"]
        assert "4 of 5 rows; + loads more" in screen_text(app)
        for _ in range(3):
            await pilot.press("plus")
            await settle(pilot)
        assert [r.key for r in table.shown] == ["101", "102", "103", "104", "105"]
        assert "5 rows" in screen_text(app)
        assert "of 5" not in screen_text(app)


async def test_tenant_findings_tab_says_n_of_m(
    make_app: AppFactory, fake: FakeOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ConsoleScreen, "PAGE", 1)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(TenantScreen("alpha"))
        await settle(pilot)
        text = screen_text(app)
        assert "3 Findings (1 of 2)" in text
        assert "2 Failed (1 of 4)" in text
        await pilot.press("3")
        await pilot.press("plus")
        await settle(pilot)
        assert "3 Findings (2)" in screen_text(app)


async def test_help_names_keys_as_they_are_typed(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        app.push_screen(RunScreen(3))
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "square_bracket" not in text
        assert "[" in text and "]" in text
        assert "More rows" in text
