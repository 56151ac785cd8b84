"""The console draws names with terminal escapes, RLO, NUL or markup written out.

A stand-in facade answers search and explain with a name holding all four; what the terminal
would show is read back from the screen.
"""

from __future__ import annotations

from dataclasses import replace

from console_fake_ops import FakeOps, fixed_clock
from console_support import screen_text, settle

from console.tui.app import ConsoleApp
from console.tui.screens.explain import ExplainScreen
from console.tui.widgets.help import HelpScreen
from engine.views import Explanation, SearchHit

HOSTILE = "Eve\x1b[31mil\u202eNUL\x00[red]x"
SHOWN = ("\\x1b[31mil", "\\u202e", "\\x00", "[red]x")
RAW = ("\x1b", "\u202e", "\x00")


class HostileOps(FakeOps):
    """Search and explain answer with a pupil named :data:`HOSTILE`."""

    async def search(
        self, query: str, *, tenant_id: str | None = None, limit: int = 50
    ) -> list[SearchHit]:
        self.calls.append(("search", query))
        return [SearchHit("alpha", "person", "p-eve", f"Zyxo {HOSTILE}", "student", {})]

    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        ex = await super().explain(tenant_id, record_type, key)
        return replace(
            ex,
            label=f"Zyxo {HOSTILE}",
            source_record={"givenName": "Zyxo", "familyName": HOSTILE},
            summary=f"Zyxo {HOSTILE} is missing in microsoft.",
        )


def assert_shown_escaped(text: str) -> None:
    assert "Zyxo" in text
    for raw in RAW:
        assert raw not in text
    for shown in SHOWN:
        assert shown in text, f"{shown!r} not on the screen"


async def test_search_and_explain_show_control_characters_written_out() -> None:
    app = ConsoleApp(HostileOps(), refresh_seconds=0, clock=fixed_clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        app.run_command("search")
        await settle(pilot)
        await pilot.press(*"zyxo", "enter")
        await settle(pilot)
        assert_shown_escaped(screen_text(app))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        assert_shown_escaped(screen_text(app))


class MarkupOps(HostileOps):
    async def explain(self, tenant_id: str, record_type: str, key: str) -> Explanation:
        return replace(await super().explain(tenant_id, record_type, key), label="[bold]Zyxo\x1b")


async def test_help_on_a_record_shows_its_label_as_written() -> None:
    """The help title holds the screen's crumb, and the explain screen's crumb the label."""
    app = ConsoleApp(MarkupOps(), refresh_seconds=0, clock=fixed_clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(ExplainScreen("alpha", "person", "p-eve"))
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen), type(app.screen)
        text = screen_text(app)
        assert "Help: person [bold]Zyxo" in text  # as written, not read as markup
        assert not any(raw in text for raw in RAW)
