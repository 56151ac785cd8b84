"""Modal dialogs: confirm a write (saying what changes and how much) and ask for an elevation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class Confirmed:
    reason: str = ""


class ConfirmDialog(ModalScreen[Confirmed | None]):
    """Yes or no for one write; with ``ask_reason`` also a reason (required when ``need_reason``).

    Enter or y confirms, escape or n cancels; the reason field takes typed letters.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Confirm", show=False),
        Binding("n", "cancel", "Cancel", show=False),
    ]

    def __init__(
        self,
        title: str,
        body: str,
        *,
        confirm_label: str = "Confirm",
        ask_reason: bool = False,
        need_reason: bool = False,
        danger: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.ask_reason = ask_reason or need_reason
        self.need_reason = need_reason
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger" if self.danger else ""):
            yield Label(self.title_text, id="dialog-title")
            yield Static(Text(self.body), id="dialog-body")
            if self.ask_reason:
                placeholder = "Reason (required)" if self.need_reason else "Reason (optional)"
                yield Input(placeholder=placeholder, id="reason")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                )
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        if self.ask_reason:
            self.query_one("#reason", Input).focus()
        else:
            self.query_one("#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted, "#reason")
    def action_confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip() if self.ask_reason else ""
        if self.need_reason and not reason:
            self.query_one("#dialog-error", Static).update("A reason is needed.")
            return
        self.dismiss(Confirmed(reason))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ElevationRequest:
    reason: str
    minutes: int


class ElevationDialog(ModalScreen[ElevationRequest | None]):
    """Ask for a time-boxed elevation: a reason and how long; gold waits for the customer."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, tenant: str, tier: str, refusal: str) -> None:
        super().__init__()
        self.tenant = tenant
        self.tier = tier
        self.refusal = refusal

    def compose(self) -> ComposeResult:
        if self.tier == "gold":
            how = (
                "It becomes active only after the customer's approver approves it; "
                "until then writes stay refused."
            )
        else:
            how = "It is active at once and ends by itself."
        with Vertical(id="dialog"):
            yield Label(f"Elevation for tenant {self.tenant} ({self.tier})", id="dialog-title")
            yield Static(
                Text(f"{self.refusal}\n\nWrites here need an elevation with a reason. {how}")
            )
            yield Input(placeholder="Reason, e.g. a ticket number (required)", id="reason")
            yield Input(value="60", placeholder="Minutes", id="minutes", type="integer")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Request elevation", id="confirm", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Button.Pressed, "#confirm")
    @on(Input.Submitted)
    def action_confirm(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        minutes_text = self.query_one("#minutes", Input).value.strip() or "60"
        error = self.query_one("#dialog-error", Static)
        if not reason:
            error.update("A reason is needed.")
            return
        if not minutes_text.isdigit() or not 1 <= int(minutes_text) <= 24 * 60:
            error.update("Minutes must be a whole number from 1 to 1440.")
            return
        self.dismiss(ElevationRequest(reason, int(minutes_text)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
