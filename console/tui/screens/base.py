"""What every console screen shares: breadcrumb, `/` filter, `:` command bar, row actions, reload.

A screen says which actions it offers (``ACTIONS``) and what the selected row means for each
(:meth:`ConsoleScreen.target`); the app decides whether policy allows it and runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Static, TabbedContent
from textual.worker import WorkType

from console.tui import fmt
from console.tui.actions import ACTIONS, Target, bindings, unavailable
from console.tui.widgets.footer import FittingFooter
from console.tui.widgets.table import RowTable
from engine.views import OperationView

if TYPE_CHECKING:
    from console.tui.app import ConsoleApp

COMMANDS = (
    "tenants",
    "tenant ",
    "runs",
    "run ",
    "failures",
    "item ",
    "logs",
    "approvals",
    "agents",
    "search ",
    "help",
    "quit",
)


class ConsoleScreen(Screen[None]):
    """Base of the console's views; subclasses fill ``compose_body`` and ``load``."""

    CRUMB: ClassVar[str] = "Screen"
    ABOUT: ClassVar[str] = ""
    ACTIONS: ClassVar[tuple[str, ...]] = ()
    AUTO_FOCUS = "RowTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False),
        Binding("slash", "filter", "Filter", key_display="/", id="ess.filter"),
        Binding("escape", "back", "Back", show=False, id="ess.back"),
    ]
    been_in_front = False
    CLOCK: ClassVar[bool] = True  # shows ages or durations: reloads as the clock moves
    PAGE: ClassVar[int] = 200  # rows a paged list loads at first, and more with each `+`
    MORE = Binding("plus", "more", "More rows", show=False)  # on screens with paged lists
    MARKS: ClassVar[list[BindingType]] = [  # on screens whose items table takes bulk actions
        Binding("space", "mark", "Mark", key_display="space", show=False),
        Binding("m", "mark_cause", "Mark cause", show=False),
        Binding("asterisk", "mark_all", "Mark all", key_display="*", show=False),
        Binding("u", "unmark", "Unmark", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[int, OperationView] = {}  # the items table's rows, by item id

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    # ----- layout -----
    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(id="crumbs")
            yield Static(id="status")
        yield Input(placeholder="filter rows (esc clears)", id="filter", classes="hidden")
        yield from self.compose_body()
        yield Input(
            placeholder=":tenants :runs :failures :logs :approvals :search NAME  (esc closes)",
            id="command",
            classes="hidden",
            suggester=SuggestFromList(COMMANDS, case_sensitive=False),
        )
        yield FittingFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def crumb(self) -> str:
        return self.CRUMB

    def on_mount(self) -> None:
        self.update_topbar()
        self.reload()
        self.after_mount()

    def after_mount(self) -> None:
        """Screen-specific start-up (Textual would call a subclass's on_mount as well)."""

    def on_screen_resume(self) -> None:
        """Back in front: what was shown may have aged or changed underneath, so load again."""
        self.update_topbar()
        self.refresh_bindings()
        if self.been_in_front:  # the first time, on_mount loads
            self.reload()
        self.been_in_front = True

    def update_topbar(self) -> None:
        app = self.console
        crumbs = [s.crumb() for s in app.screen_stack if isinstance(s, ConsoleScreen)]
        text = Text("ESS", style="bold")
        for c in crumbs:
            text.append(" › ", style=fmt.DIM)
            text.append(c)
        self.query_one("#crumbs", Static).update(text)
        status = Text()
        if app.read_only:
            status.append(" READ-ONLY ", style="bold #1b2029 on " + fmt.WARN)
            status.append(" ")
        if app.paused:
            status.append("⏸ paused", style=fmt.WARN)
        else:
            if app.watch_seconds:  # follows the journal's change marker
                every = "↻ live"
            else:
                every = f"↻ {fmt.span(app.refresh_seconds)}" if app.refresh_seconds else "↻ off"
            status.append(every, style=fmt.DIM)
        status.append(f"  {app.ops.actor}", style=fmt.DIM)
        served = getattr(app.ops, "scope", None)
        if served is not None and served.tenants is not None:  # a limited engineer sees it
            status.append(f" · {len(served.tenants)} tenant(s)", style=fmt.DIM)
        self.query_one("#status", Static).update(status)

    # ----- data -----
    def reload(self) -> None:
        """Fetch this screen's data again in a worker; a failure is shown, never raised. The
        worker gets the method, not a coroutine: a reload that replaces a load before it starts
        then leaves no coroutine behind that was never awaited."""
        work: WorkType[None] = self._load_guarded  # typed: Textual infers no result from a method
        self.run_worker(work, group="load", exclusive=True, exit_on_error=False)

    async def _load_guarded(self) -> None:
        try:
            await self.load()
        except Exception as exc:  # a failed refresh must not take the console down
            self.console.report_error(f"Could not load {self.crumb()}", exc)
        self.update_topbar()
        self.refresh_bindings()

    async def load(self) -> None:
        """Read from the ops facade and fill the widgets."""

    @property
    def page(self) -> int:
        """How many rows a paged list of this screen loads now."""
        return self.PAGE * getattr(self, "pages", 1)

    def action_more(self) -> None:
        """Load the next page of the screen's cut lists (a list says "N of M" while cut)."""
        table = self.active_table()
        if table is None or not table.cut:
            self.notify("every row of this list is shown", title="More rows")
            return
        self.pages = getattr(self, "pages", 1) + 1
        self.reload()

    # ----- tables -----
    def active_table(self) -> RowTable | None:
        focused = self.focused
        if isinstance(focused, RowTable):
            return focused
        tabs = self.query(TabbedContent)
        if tabs:
            pane = tabs.first().active_pane
            if pane is not None:
                found = pane.query(RowTable)
                return found.first() if found else None
        tables = self.query(RowTable)
        return tables.first() if tables else None

    def selected(self, table_id: str | None = None) -> str | None:
        table = self.active_table()
        if table is None or (table_id is not None and table.id != table_id):
            return None
        return table.selected_key()

    @on(DataTable.RowHighlighted)
    def _row_moved(self) -> None:
        self.refresh_bindings()
        self.row_changed()

    def row_changed(self) -> None:
        """The cursor moved; screens with a detail pane update it here."""

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.active_table()
        key = table.selected_key() if table else None
        if table is not None and key is not None:
            self.open_row(table.id or "", key)

    def open_row(self, table_id: str, key: str) -> None:
        """Drill down into the chosen row."""

    # ----- marks: space marks rows, one action retries or skips them all -----
    def items_table(self) -> RowTable | None:
        """The items table, when it is the one in front (marks act on it alone)."""
        table = self.active_table()
        return table if table is not None and table.id == "items-table" else None

    def action_mark(self) -> None:
        table = self.items_table()
        if table is None:
            self.notify("only items can be marked", title="Mark")
            return
        table.toggle_mark()
        self.refresh_bindings()

    def action_mark_all(self) -> None:
        """Mark every row shown: with `/` first, every row holding a text."""
        table = self.items_table()
        if table is not None:
            table.mark(r.key for r in table.shown)
            self.refresh_bindings()

    def action_mark_cause(self) -> None:
        """Mark the loaded items failing for the same cause as the selected one (target,
        action, kind, status and reason), as `ess failures --by-cause` groups them."""
        table = self.items_table()
        key = table.selected_key() if table else None
        if table is None or key is None or int(key) not in self.items:
            self.notify("select an item first", title="Mark cause")
            return
        cause = fmt.cause(self.items[int(key)])
        same = [str(o.id) for o in self.items.values() if fmt.cause(o) == cause]
        table.mark(same)
        cut = f"; {table.count_label()} loaded, + loads more" if table.cut else ""
        self.notify(f"{len(same)} items of {' '.join(cause)} marked{cut}", title="Marked")
        self.refresh_bindings()

    def action_unmark(self) -> None:
        for table in self.query(RowTable):
            table.clear_marks()
        self.refresh_bindings()

    def marked_items(self) -> list[OperationView]:
        table = self.items_table()
        if table is None:
            return []
        return [self.items[int(k)] for k in table.marked_keys() if int(k) in self.items]

    def bulk_target(self, action: str) -> Target | None:
        """Retry or skip the marked items, when any are marked (else None: the selected row)."""
        if action not in ("retry", "skip"):
            return None
        marked = self.marked_items()
        return self.console.items_target(action, marked) if marked else None

    # ----- filter and command bar -----
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.current_filter()
        box.remove_class("hidden")
        self.set_focus(box)  # at once: keys typed right after `/` must land in the box

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)
        self.refresh_bindings()

    def current_filter(self) -> str:
        table = self.active_table()
        return table.filter_text if table else ""

    def apply_filter(self, text: str) -> None:
        """Show only rows holding ``text``; an empty text shows all rows of every table."""
        tables = list(self.query(RowTable)) if not text else [self.active_table()]
        for table in tables:
            if table is not None:
                table.set_filter(text)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        table = self.active_table()
        if not self.query_one("#filter", Input).value:
            self.query_one("#filter", Input).add_class("hidden")
        if table is not None:
            table.focus()

    def open_command_bar(self, initial: str = "") -> None:
        bar = self.query_one("#command", Input)
        bar.value = initial
        bar.remove_class("hidden")
        self.set_focus(bar)  # at once: keys typed right after `:` must land in the bar

    @on(Input.Submitted, "#command")
    def _command_done(self, event: Input.Submitted) -> None:
        bar = self.query_one("#command", Input)
        bar.add_class("hidden")
        text = event.value.strip().lstrip(":")
        bar.value = ""
        self.focus_table()
        if text:
            self.console.run_command(text, origin=self)

    def focus_table(self) -> None:
        table = self.active_table()
        if table is not None:
            table.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        bar = self.query_one("#command", Input)
        if not bar.has_class("hidden"):
            bar.add_class("hidden")
            bar.value = ""
            self.focus_table()
            return
        if not box.has_class("hidden") or box.value:
            box.value = ""
            box.add_class("hidden")
            self.apply_filter("")
            self.focus_table()
            return
        self.console.go_back()

    # ----- actions -----
    def target(self, action: str) -> Target:
        """What ``action`` would act on given the selection; ``unavailable`` says why not."""
        return unavailable("not on this screen")

    def context_tenant(self) -> str | None:
        """The tenant this screen is about (for commands without an argument)."""
        return None

    def context_run(self) -> int | None:
        return None

    def scope_tenant(self) -> str | None:
        """The tenant a `:runs` or `:failures` without argument narrows to (lists: none)."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("do", "refused") and parameters:
            name = str(parameters[0])
            if name not in self.ACTIONS or not self.offers(name):
                return False
            state = self.console.action_state(name, self.target(name))
            return state if action == "do" else state is None
        return True

    def offers(self, name: str) -> bool:
        """Whether ``name`` belongs in the footer now (e.g. on the active tab)."""
        return True

    def action_do(self, name: str) -> None:
        self.console.trigger(name, self.target(name))

    def action_refused(self, name: str) -> None:
        self.console.trigger(name, self.target(name))

    @staticmethod
    def action_bindings(*names: str) -> list[BindingType]:
        return list(bindings(*names))

    @staticmethod
    def spec_label(name: str) -> str:
        return ACTIONS[name].label
