"""Snapshot tests of the main screens at 80x24 and 120x40, with fixed data and a frozen clock.

Update after a deliberate change with `pytest tests/console --snapshot-update` and review the
SVGs in tests/console/__snapshots__/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from console_support import AppFactory, settle
from textual.pilot import Pilot

from console.tui.app import ConsoleApp
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.run import RunScreen

Step = Callable[[Pilot[None]], Awaitable[None]]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def console(pilot: Pilot[None]) -> ConsoleApp:
    assert isinstance(pilot.app, ConsoleApp)
    return pilot.app


async def tenants(pilot: Pilot[None]) -> None:
    await settle(pilot)


async def tenant_failures(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def run(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).push_screen(RunScreen(3))
    await settle(pilot)


async def item(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).push_screen(ItemScreen(101))
    await settle(pilot)


async def logs(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).push_screen(LogsScreen(3))
    await settle(pilot)


async def approvals(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).run_command("approvals")
    await settle(pilot)


async def agents(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).run_command("agents")
    await settle(pilot)


async def search(pilot: Pilot[None]) -> None:
    await settle(pilot)
    console(pilot).run_command("search anna")
    await settle(pilot)


async def confirm_retry(pilot: Pilot[None]) -> None:
    await tenant_failures(pilot)
    await pilot.press("r")
    await settle(pilot)


async def help_screen(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "step",
    [tenants, tenant_failures, run, item, logs, approvals, agents],
    ids=lambda s: s.__name__,
)
def test_main_screens(
    snap_compare: Callable[..., bool], make_app: AppFactory, step: Step, size: tuple[int, int]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=step)


@pytest.mark.parametrize("step", [search, confirm_retry, help_screen], ids=lambda s: s.__name__)
def test_small_terminal(
    snap_compare: Callable[..., bool], make_app: AppFactory, step: Step
) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=step)


def test_read_only_tenants(snap_compare: Callable[..., bool], make_app: AppFactory) -> None:
    from console_fake_ops import FakeOps

    app = make_app(FakeOps(read_only=True), read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=tenants)
