"""The `?` help: the current screen's keys, generated from its bindings, with why one is off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.tui import fmt


@dataclass(frozen=True)
class KeyHelp:
    key: str
    label: str
    help: str
    enabled: bool
    reason: str = ""


def key_display(binding: Binding) -> str:
    names = {
        "slash": "/",
        "colon": ":",
        "question_mark": "?",
        "escape": "esc",
        "enter": "enter",
        "ctrl+p": "ctrl+p",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "plus": "+",
        "minus": "-",
        "space": "space",
    }
    return binding.key_display or ", ".join(names.get(k, k) for k in binding.key.split(","))


class HelpScreen(ModalScreen[None]):
    """Keys of the screen below it, greyed and explained where policy turns one off."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close")
    ]

    def __init__(self, screen_title: str, about: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.screen_title = screen_title
        self.about = about
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("Key", no_wrap=True, style="bold " + "#88c0d0")
        table.add_column("Action", no_wrap=True)
        table.add_column("What it does")
        for k in self.keys:
            if k.enabled:
                table.add_row(Text(k.key), Text(k.label), Text(k.help))
            else:
                note = Text(f"{k.help}\n", style=fmt.DIM)
                note.append(f"off: {k.reason}", style=fmt.WARN)
                table.add_row(Text(k.key, style=fmt.DIM), Text(k.label, style=fmt.DIM), note)
        with VerticalScroll(id="help"):
            yield Label(Text(f"Help: {self.screen_title}"), id="help-title")  # a crumb holds data
            yield Static(Text(self.about), id="help-about")
            yield Static(table, id="help-keys")
            yield Static(
                "esc, ? or q closes this help. ctrl+p lists the same actions in the palette.",
                id="help-foot",
            )

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
