"""Item: one operation: what to do about it, each attempt, the source record and desired state."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.table import Row, RowTable
from engine.views import OperationDetail

ATTEMPT_COLUMNS = ("#", "At", "Outcome", "Reason", "Message", "Request id")


class ItemScreen(ConsoleScreen):
    CLOCK = False  # shows no ages: reloads on a change in the journal only
    ABOUT = (
        "One item (an operation on a target): what it would do, its status and target id, what "
        "to do about it, each attempt with its error, the source record (redacted) and the "
        "desired state. i follows the record from source to target."
    )
    ACTIONS = ("retry", "skip", "logs", "explain", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def __init__(self, op_id: int) -> None:
        super().__init__()
        self.op_id = op_id
        self.detail: OperationDetail | None = None

    def crumb(self) -> str:
        return f"item {self.op_id}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="item"):
            yield Static(id="summary")
            yield Static(id="advice")
            yield RowTable(
                ATTEMPT_COLUMNS,
                empty="no attempts yet",
                id="attempts",
                optional=("Request id",),  # the summary above shows the last one
            )
            with Horizontal(id="records"):
                yield Static(id="source", classes="record")
                yield Static(id="desired", classes="record")

    async def load(self) -> None:
        d = await self.console.ops.operation(self.op_id)
        self.detail = d
        o = d.operation
        head = Text()
        head.append(f"{o.action} {o.kind} ", style="bold")
        head.append(f"{o.label}  ")
        head.append_text(fmt.status(o.status))
        head.append(f"\n{o.tenant} · run #{o.run_id} · target {o.target} · ")
        head.append(f"target id {o.target_id or '(none yet)'} · tries {o.attempts}")
        head.append(f"\n{d.record_type} {d.record_key}", style=fmt.DIM)
        if o.last_error:
            head.append(f"\nlast error: {o.last_error}", style=fmt.BAD)
        if o.request_id:  # what a ticket with the service's vendor quotes
            head.append(f"\nrequest id: {o.request_id}")
        self.query_one("#summary", Static).update(head)
        advice = self.query_one("#advice", Static)
        advice.update(Text.assemble(("What to do: ", "bold"), o.advice or "nothing needed"))
        advice.set_class(bool(o.advice), "has-advice")
        self.query_one("#attempts", RowTable).set_rows(
            Row(
                str(a.number),
                (
                    str(a.number),
                    fmt.clock_time(a.at),
                    fmt.status(a.outcome),
                    a.reason,
                    fmt.shorten(a.message, 80),
                    a.request_id or "",
                ),
            )
            for a in d.attempts
        )
        source = self.query_one("#source", Static)
        source.border_title = "Source record"
        source.update(fmt.pretty(d.source_record))
        desired = self.query_one("#desired", Static)
        desired.border_title = "Desired state"
        desired.update(fmt.pretty(d.desired))

    def scope_tenant(self) -> str | None:
        return self.context_tenant()

    def context_tenant(self) -> str | None:
        return self.detail.operation.tenant if self.detail else None

    def context_run(self) -> int | None:
        return self.detail.operation.run_id if self.detail else None

    def target(self, action: str) -> Target:
        if self.detail is None:
            return unavailable("still loading")
        o = self.detail.operation
        if action in ("retry", "skip", "explain"):
            return self.console.item_target(
                action, o, record=(self.detail.record_type, self.detail.record_key)
            )
        if action == "logs":
            return Target(tenant=o.tenant, run_id=o.run_id)
        if action == "copy_id":
            text = o.target_id or str(o.id)
            what = "target id" if o.target_id else "item"
            return Target(tenant=o.tenant, text=text, summary=f"{what} {text}")
        return unavailable("not on this screen")
