"""Reloading faster than the loads can start: each reload (and each look at the journal's
change marker) replaces the one before it, and one replaced before it began must leave
nothing behind (no coroutine that was never awaited)."""

from __future__ import annotations

import gc

import pytest
from console_support import AppFactory, settle

from console.tui.screens.base import ConsoleScreen


class CountingScreen(ConsoleScreen):
    """A screen that counts the loads that ran to the end."""

    loads = 0

    async def load(self) -> None:
        self.loads += 1


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
async def test_reloads_in_one_burst_leave_no_load_unawaited(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = CountingScreen()
        app.push_screen(screen)
        await settle(pilot)
        before = screen.loads
        for _ in range(50):
            screen.reload()  # each replaces the one before, most before they start
        await settle(pilot)
        assert screen.loads - before >= 1  # the last reload's load ran
        assert screen.loads - before < 50  # and the replaced ones did not
        for _ in range(50):
            app.look_for_changes()  # the watch timer's look, replaced the same way
        await settle(pilot)
        gc.collect()  # a replaced, never-started load would warn here
