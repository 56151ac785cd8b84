"""Dates as sources write them: an ISO day, perhaps with a time after it."""

from __future__ import annotations

from datetime import date


def leading_day(raw: str) -> date | None:
    """The day an ISO date (``YYYY-MM-DD``) or date-time (a ``T`` or a space after the day)
    gives; None when it gives none."""
    text = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
