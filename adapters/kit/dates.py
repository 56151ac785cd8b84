"""Dates and times as sources and services write them: an ISO day, perhaps with a time after
it; an ISO instant (``Z`` or an offset); an HTTP ``Date`` header."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime


def leading_day(raw: str) -> date | None:
    """The day an ISO date (``YYYY-MM-DD``) or date-time (a ``T`` or a space after the day)
    gives; None when it gives none."""
    text = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def instant(text: str | None) -> datetime | None:
    """The moment an ISO date-time gives (``Z`` or an offset; none read as UTC), or None when
    it gives none: how a source's checkpoint, full-read time and change stamps are read."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def http_date(value: str | None) -> datetime | None:
    """A server's clock from its ``Date`` header, or None when it sent none that reads."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
