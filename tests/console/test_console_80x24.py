"""At 80x24 every main screen fits: no table runs past its right edge (a cut cell ends in "…",
a column of least use is left out), and the footer ends with the palette key, not mid-word.
The snapshots in test_console_snapshots.py show the same screens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from console_support import AppFactory, screen_text
from test_console_snapshots import approvals, item, logs, run, search, tenant_failures, tenants
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console.tui.widgets.table import RowTable

Step = Callable[[Pilot[None]], Awaitable[None]]


@pytest.mark.parametrize(
    "step",
    [tenants, tenant_failures, run, item, logs, approvals, search],
    ids=lambda s: s.__name__,
)
async def test_the_screen_fits_80x24(make_app: AppFactory, step: Step) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await step(pilot)
        for table in app.screen.query(RowTable):
            if not table.display or not table.region.width:
                continue  # on a tab not shown
            used = sum(c.get_render_width(table) for c in table.columns.values())
            assert used <= table.scrollable_content_region.width, (table.id, used)
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
        room = footer.region.width
        assert sum(k.region.width for k in keys) <= room  # every key drawn whole
        assert screen_text(app).splitlines()[-1].rstrip().endswith("^p palette")
        assert any(k.key == "question_mark" for k in keys) or len(keys) > 6
