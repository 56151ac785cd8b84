"""Opaque cursors for paged tool results, so an assistant passes them back without parsing them."""

from __future__ import annotations

import base64
import binascii
import json

from mcp.server.mcpserver.exceptions import ToolError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(kind: str, value: int) -> str:
    raw = json.dumps({"k": kind, "v": value}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> int | None:
    """The position inside a cursor this server gave for the same tool; None without a cursor."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["k"] == kind and isinstance(data["v"], int) and data["v"] >= 0:
            return int(data["v"])
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        pass
    raise ToolError(
        "The cursor is not one this tool returned. Pass the next_cursor value from the previous "
        "answer of the same tool unchanged, or leave cursor out to start from the first page."
    )


def page_note(shown: int, more: bool, what: str) -> str | None:
    """The note an assistant reads when a result was cut at the page size."""
    if not more:
        return None
    return (
        f"Showing {shown} {what}; there are more. Call again with cursor=next_cursor to see the "
        "next page, or narrow the query."
    )
