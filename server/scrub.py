"""A last defensive pass over everything the server sends: no personnummer-like text leaves,
and no control character reaches the client's terminal raw.

The engine never hands out a personnummer; this scrub exists so that a bug elsewhere (a vendor
error message quoted into an event, say) still cannot leak one through the MCP server. Names
from the source may hold terminal escapes or bidirectional overrides: they leave written out
(``\\x1b``, ``\\u202e``), by the rule every front end shares (:func:`engine.display.visible`).
"""

from __future__ import annotations

from typing import Any

from engine.display import PERSONNUMMER as PERSONNUMMER
from engine.display import REDACTED as REDACTED
from engine.display import scrub_personnummer, visible


def scrub_text(text: str) -> str:
    """The text with every personnummer-like number replaced by ``[redacted]`` and every
    control character written out."""
    return visible(scrub_personnummer(text))


def scrub(value: Any) -> Any:
    """Scrub every string inside JSON-like data (dict keys too), keeping its shape."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
