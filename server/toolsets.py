"""Which toolsets exist and which are served: operations only when writes are allowed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

READ_TOOLSETS = ("status", "logs", "explain")
WRITE_TOOLSETS = ("operations",)
TOOLSETS = READ_TOOLSETS + WRITE_TOOLSETS
# the tools of the operations toolset, so that a call to one that is not served is answered
# with why, not as an unknown tool
WRITE_TOOLS = (
    "start_sync",
    "retry_items",
    "skip_items",
    "approve_plan",
    "reject_plan",
    "rekey_source",
    "release_source_holds",
)


class ToolsetError(ValueError):
    """An unknown toolset name was asked for."""


def parse_toolsets(text: str | None) -> set[str] | None:
    """``"status,logs"`` as a set; None or empty means the default."""
    if not text:
        return None
    return {part.strip() for part in text.split(",") if part.strip()} or None


def served_toolsets(toolsets: Iterable[str] | None, *, allow_writes: bool) -> frozenset[str]:
    """The toolsets to serve: the asked ones (default: all), never operations without writes."""
    wanted = set(TOOLSETS) if toolsets is None else set(toolsets)
    unknown = sorted(wanted - set(TOOLSETS))
    if unknown:
        raise ToolsetError(
            f"unknown toolset(s) {', '.join(unknown)}; choose from {', '.join(TOOLSETS)}"
        )
    if not allow_writes and wanted & set(WRITE_TOOLSETS):
        if toolsets is not None:
            log.warning("the operations toolset is off: start with writes allowed to serve it")
        wanted -= set(WRITE_TOOLSETS)
    return frozenset(wanted)
