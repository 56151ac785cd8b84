"""The Swedish school calendar as the generator uses it: term starts and the school year's end.

A school year runs from the autumn term start (the third Monday of August) to the second Friday
of June; the spring term starts on the second Monday of January.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (Monday = 0) of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@dataclass(frozen=True, slots=True)
class SchoolYear:
    """One school year, named by the calendar year its autumn term starts in."""

    year: int

    @property
    def autumn_start(self) -> date:
        return nth_weekday(self.year, 8, 0, 3)

    @property
    def spring_start(self) -> date:
        return nth_weekday(self.year + 1, 1, 0, 2)

    @property
    def end(self) -> date:
        return nth_weekday(self.year + 1, 6, 4, 2)

    def term_start(self, day: date) -> date:
        """The start of the term that ``day`` falls in (or, in summer, the coming autumn term)."""
        return self.spring_start if day >= self.spring_start else self.autumn_start

    def next(self) -> SchoolYear:
        return SchoolYear(self.year + 1)


def school_year_of(day: date) -> SchoolYear:
    """The school year containing ``day``; the summer after term end belongs to the next one."""
    sy = SchoolYear(day.year if day.month >= 7 else day.year - 1)
    return sy.next() if day > sy.end else sy


def stamp(day: date) -> str:
    """The RFC 3339 time every change effective on ``day`` carries: 06:00 UTC."""
    return f"{day.isoformat()}T06:00:00Z"


def term_label(day: date) -> str:
    """Swedish term label for names, e.g. ``HT25`` or ``VT26``."""
    return f"{'HT' if day.month >= 7 else 'VT'}{day.year % 100:02d}"
