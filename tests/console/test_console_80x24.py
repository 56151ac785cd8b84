"""At 80x24 every main screen fits: no table runs past its right edge (a cut cell ends in "…",
a column of least use is left out), and the footer ends with the palette key, not mid-word.
The snapshots in test_console_snapshots.py show the same screens."""

from __future__ import annotations

from console_support import AppFactory, screen_text, settle
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console.tui.app import ConsoleApp
from console.tui.screens.item import ItemScreen
from console.tui.screens.logs import LogsScreen
from console.tui.screens.run import RunScreen
from console.tui.widgets.table import RowTable


async def fits(app: ConsoleApp, pilot: Pilot[None], where: str) -> None:
    await settle(pilot)
    for table in app.screen.query(RowTable):
        if not table.display or not table.region.width:
            continue  # on a tab not shown
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.scrollable_content_region.width, (where, table.id, used)
        for row in range(table.row_count):
            for column, cell in zip(table.columns.values(), table.get_row_at(row), strict=True):
                text = getattr(cell, "plain", str(cell))
                assert len(text) <= column.get_render_width(table) - 2 * table.cell_padding
    footer = app.screen.query_one(Footer)
    for _ in range(100):  # the footer composes again after the screen settles; under load
        if footer.query(FooterKey):  # that may be a few frames later
            break
        await pilot.pause(0.02)
    await pilot.pause()
    keys = list(footer.query(FooterKey))
    assert sum(k.region.width for k in keys) <= footer.region.width, where  # every key whole
    assert screen_text(app).splitlines()[-1].rstrip().endswith("^p palette"), where


async def test_every_main_screen_fits_80x24(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await fits(app, pilot, "tenants")
        await pilot.press("enter", "2")
        await fits(app, pilot, "tenant failures")
        for screen, where in ((RunScreen(3), "run"), (ItemScreen(101), "item")):
            app.push_screen(screen)
            await fits(app, pilot, where)
        app.push_screen(LogsScreen(3))
        await fits(app, pilot, "logs")
        app.run_command("approvals")
        await fits(app, pilot, "approvals")
        app.run_command("agents")
        await fits(app, pilot, "agents")
        app.run_command("search anna")
        await fits(app, pilot, "search")
