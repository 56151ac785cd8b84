"""Logs: a run's event log, followed live while the run goes, with filter, find, level and wrap.

New events are fetched with ``after_id`` on each refresh, so a long log is read once.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, RichLog, Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from engine.views import EventView, RunSummary

LEVELS = ("all", "warning", "error")
RANK = {"debug": 0, "info": 1, "warning": 2, "error": 3}
LEVEL_STYLE = {"error": fmt.BAD, "warning": fmt.WARN, "debug": fmt.DIM}


class LogsScreen(ConsoleScreen):
    CLOCK = False  # shows no ages: reloads on a change in the journal only
    ABOUT = (
        "The run's log. While the run goes, new lines arrive on each refresh and f keeps the "
        "view at the end. / hides lines without the text; ctrl+f finds it and n / N jump between "
        "matches; v shows only warnings or errors; w wraps long lines; g and G go to the top "
        "and the end."
    )
    AUTO_FOCUS = "#log"
    ACTIONS = ("copy_id",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Follow", id="ess.logs.follow"),
        Binding("w", "wrap", "Wrap", id="ess.logs.wrap"),
        Binding("ctrl+f", "find", "Find", id="ess.logs.find"),
        Binding("n", "next_match(1)", "Next", show=False),
        Binding("N", "next_match(-1)", "Previous", show=False),
        Binding("v", "level", "Level", id="ess.logs.level"),
        Binding("g", "top", "Top", show=False),
        Binding("G", "end", "End", show=False),
        *bindings(*ACTIONS),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.events: list[EventView] = []
        self.last_id = 0
        self.run: RunSummary | None = None
        self.follow = True
        self.wrap = False
        self.level = "all"
        self.filter_text = ""
        self.find_text = ""
        self.match_index = -1
        self.matches: list[int] = []
        self.line_of: list[int] = []  # first log line of each shown event

    def crumb(self) -> str:
        return f"logs run {self.run_id}"

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        yield Input(
            placeholder="find (enter; n / N for next and previous)", id="find", classes="hidden"
        )
        yield RichLog(id="log", wrap=False, markup=False, highlight=False, auto_scroll=True)

    # ----- data -----
    async def load(self) -> None:
        ops = self.console.ops
        self.run = (await ops.run(self.run_id)).summary
        fresh = await ops.events(self.run_id, after_id=self.last_id, limit=2000)
        while fresh:
            self.events += fresh
            self.last_id = fresh[-1].id
            if len(fresh) < 2000:
                break
            fresh = await ops.events(self.run_id, after_id=self.last_id, limit=2000)
        self.render_log()

    def shown(self) -> list[EventView]:
        floor = RANK.get(self.level, 0)
        needle = self.filter_text.lower()
        return [
            e
            for e in self.events
            if RANK.get(e.level, 1) >= floor and (not needle or needle in e.message.lower())
        ]

    def line_text(self, e: EventView, current: bool) -> Text:
        text = Text(fmt.clock_seconds(e.at) + " ", style=fmt.DIM)
        text.append(f"{e.level:<7} ", style=LEVEL_STYLE.get(e.level, ""))
        text.append(e.message)
        if self.find_text:
            text.highlight_words([self.find_text], style="reverse", case_sensitive=False)
        if current:
            text.stylize("bold on #34405a")
        return text

    def render_log(self) -> None:
        log = self.query_one("#log", RichLog)
        shown = self.shown()
        needle = self.find_text.lower()
        self.matches = [i for i, e in enumerate(shown) if needle and needle in e.message.lower()]
        if self.match_index >= len(self.matches):
            self.match_index = len(self.matches) - 1
        current = self.matches[self.match_index] if self.match_index >= 0 else -1
        keep_y = log.scroll_y
        log.clear()
        log.wrap = self.wrap
        log.auto_scroll = False
        self.line_of = []
        for i, e in enumerate(shown):
            self.line_of.append(len(log.lines))
            log.write(self.line_text(e, i == current), scroll_end=False)
        if current >= 0 and current < len(self.line_of):
            log.scroll_to(y=max(self.line_of[current] - 2, 0), animate=False)
        elif self.follow:
            log.scroll_end(animate=False)
        else:
            log.scroll_to(y=keep_y, animate=False)
        self.update_summary(len(shown))

    def update_summary(self, shown: int) -> None:
        text = Text()
        if self.run is not None:
            text.append(f"Run #{self.run.id} of {self.run.tenant} ", style="bold")
            text.append_text(fmt.status(self.run.status))
        text.append(f"  {shown} of {len(self.events)} lines", style=fmt.DIM)
        flags = [
            "following" if self.follow else "paused at line",
            "wrap" if self.wrap else "no wrap",
            f"level {self.level}",
        ]
        if self.filter_text:
            flags.append(f"filter {self.filter_text!r}")
        if self.find_text:
            where = f"{self.match_index + 1}/{len(self.matches)}" if self.matches else "0"
            flags.append(f"find {self.find_text!r} {where}")
        text.append("  " + " · ".join(flags))
        self.query_one("#summary", Static).update(text)

    # ----- keys -----
    def action_follow(self) -> None:
        self.follow = not self.follow
        self.match_index = -1 if self.follow else self.match_index
        self.render_log()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self.render_log()

    def action_level(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.render_log()

    def action_top(self) -> None:
        self.follow = False
        self.query_one("#log", RichLog).scroll_home(animate=False)
        self.update_summary(len(self.shown()))

    def action_end(self) -> None:
        self.query_one("#log", RichLog).scroll_end(animate=False)

    def action_find(self) -> None:
        box = self.query_one("#find", Input)
        box.value = self.find_text
        box.remove_class("hidden")
        self.set_focus(box)

    @on(Input.Submitted, "#find")
    def _find(self, event: Input.Submitted) -> None:
        event.stop()
        self.find_text = event.value.strip()
        box = self.query_one("#find", Input)
        if not self.find_text:
            box.add_class("hidden")
        self.follow = False
        self.match_index = 0
        self.render_log()
        self.query_one("#log", RichLog).focus()

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            self.notify("No matches" if self.find_text else "Nothing to find: ctrl+f first")
            return
        self.follow = False
        self.match_index = (self.match_index + step) % len(self.matches)
        self.render_log()

    def current_filter(self) -> str:
        return self.filter_text

    def apply_filter(self, text: str) -> None:
        self.filter_text = text
        self.render_log()

    def action_back(self) -> None:
        box = self.query_one("#find", Input)
        if not box.has_class("hidden"):
            box.add_class("hidden")
            self.find_text = ""
            self.match_index = -1
            self.render_log()
            self.query_one("#log", RichLog).focus()
            return
        super().action_back()

    def focus_table(self) -> None:
        self.query_one("#log", RichLog).focus()

    # ----- context -----
    def scope_tenant(self) -> str | None:
        return self.context_tenant()

    def context_tenant(self) -> str | None:
        return self.run.tenant if self.run else None

    def context_run(self) -> int | None:
        return self.run_id

    def target(self, action: str) -> Target:
        if action == "copy_id":
            return Target(tenant=self.context_tenant(), text=str(self.run_id), summary="run id")
        return unavailable("not on this screen")
