"""Search: find a person or group by name, eduPersonPrincipalName, email or id, in every tenant."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Input, Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.table import Row, RowTable
from engine.views import SearchHit

COLUMNS = ("Tenant", "Type", "Name", "Detail", "In targets")


def hit_key(h: SearchHit) -> str:
    return f"{h.tenant}\x1f{h.record_type}\x1f{h.key}"


def targets_text(targets: dict[str, str | None]) -> Text:
    text = Text()
    for name, tid in sorted(targets.items()):
        if text:
            text.append(", ")
        text.append(name, style=fmt.OK if tid else fmt.WARN)
        if not tid:
            text.append(" (missing)", style=fmt.WARN)
    return text or Text("-", style=fmt.DIM)


class SearchScreen(ConsoleScreen):
    CLOCK = False  # shows no ages: reloads on a change in the journal only
    ABOUT = (
        "Type a name, eduPersonPrincipalName, email or id and press enter. Each hit shows the "
        "tenant and whether the record exists in each target; enter explains what happened to it."
    )
    ACTIONS = ("explain", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query
        self.hits: dict[str, SearchHit] = {}

    def after_mount(self) -> None:
        if not self.query_text:
            self.query_one("#query", Input).focus()

    def crumb(self) -> str:
        return f"search {self.query_text!r}" if self.query_text else "search"

    def compose_body(self) -> ComposeResult:
        yield Input(
            value=self.query_text,
            placeholder="name, eduPersonPrincipalName, email or id; enter searches",
            id="query",
        )
        yield Static(id="summary")
        yield RowTable(COLUMNS, empty="type a query and press enter", id="hits-table")

    @on(Input.Submitted, "#query")
    def _search(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_text = event.value.strip()
        self.update_topbar()
        self.reload()
        self.query_one("#hits-table", RowTable).focus()

    async def load(self) -> None:
        if not self.query_text:
            self.query_one("#summary", Static).update("")
            return
        hits = await self.console.ops.search(self.query_text)
        self.hits = {hit_key(h): h for h in hits}
        self.query_one("#hits-table", RowTable).set_rows(
            Row(
                hit_key(h),
                (
                    h.tenant,
                    h.record_type,
                    h.label,
                    fmt.shorten(h.detail, 30),
                    targets_text(h.targets),
                ),
            )
            for h in hits
        )
        self.query_one("#summary", Static).update(
            Text(
                f"{len(hits)} hits for {self.query_text!r}"
                if hits
                else f"nothing matches {self.query_text!r}"
            )
        )

    def _hit(self) -> SearchHit | None:
        key = self.selected()
        return self.hits.get(key) if key is not None else None

    def open_row(self, table_id: str, key: str) -> None:
        self.action_do("explain")

    def context_tenant(self) -> str | None:
        hit = self._hit()
        return hit.tenant if hit else None

    def target(self, action: str) -> Target:
        hit = self._hit()
        if hit is None:
            return unavailable("no hit selected")
        if action == "explain":
            return Target(tenant=hit.tenant, record_type=hit.record_type, record_key=hit.key)
        if action == "copy_id":
            return Target(
                tenant=hit.tenant, text=hit.key, summary=f"{hit.record_type} id {hit.key}"
            )
        return unavailable("not on this screen")
