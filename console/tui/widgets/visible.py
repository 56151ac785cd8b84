"""The one rule for what every widget of the console draws: no raw control character.

Names and messages come from the source, the targets and the operator; one may hold a terminal
escape (ESC), a bidirectional override (RLO) or NUL. A line filter sees every line every widget
draws, after the widget has laid it out, so whichever widget shows a value, its control
characters reach the screen written out (``\\x1b``), as on the command line.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from engine.display import visible


class VisibleControls(LineFilter):
    """Writes out the control characters of a line; the line keeps its width (what the longer
    text pushes past the widget's edge is cut, as any text that does not fit)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if all(s.control or s.text.isprintable() for s in segments):
            return segments
        width = Segment.get_line_length(segments)
        shown = [
            s
            if s.control or s.text.isprintable()
            else Segment(visible(s.text, newlines=False), s.style, s.control)
            for s in segments
        ]
        return list(Segment.adjust_line_length(shown, width))
