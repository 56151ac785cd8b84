"""The ctrl+p palette: the `:` views, the tenants, and the current screen's actions.

Disabled actions stay listed with the reason, as in the footer; choosing one explains it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.tui.actions import ACTIONS

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp

VIEWS = (
    ("tenants", "Every tenant's health, trouble first"),
    ("runs", "Runs of the tenant in view, or of all tenants"),
    ("failures", "Open failed, dead and blocked items"),
    ("logs", "The log of the run in view"),
    ("approvals", "Held plans waiting for approval"),
    ("agents", "On-site agents of hosted tenants: last upload, version, stale ones first"),
    ("search", "Find a person or group in every tenant"),
)


class ConsoleCommands(Provider):
    """Commands that depend on where the user is and what is selected."""

    def entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        from console.tui.screens.base import ConsoleScreen

        app = cast("ConsoleApp", self.app)
        screen = next((s for s in reversed(app.screen_stack) if isinstance(s, ConsoleScreen)), None)
        out: list[tuple[str, str, Callable[[], object]]] = []
        if isinstance(screen, ConsoleScreen):
            for name in screen.ACTIONS:
                spec = ACTIONS[name]
                target = screen.target(name)
                state = app.action_state(name, target)
                help_text = spec.help
                if state is None:
                    help_text += f" (off: {app.refusal(name, target)})"
                out.append(
                    (
                        f"action: {spec.label} [{spec.key}]",
                        help_text,
                        partial(app.trigger, name, target),
                    )
                )
        for view, about in VIEWS:
            out.append((f"view: :{view}", about, partial(app.run_command, view, origin=screen)))
        for tid in sorted(app.health):
            out.append(
                (f"tenant: {tid}", f"Open tenant {tid}", partial(app.run_command, f"tenant {tid}"))
            )
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self.entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
