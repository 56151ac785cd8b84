"""The Swedish school year, one definition for naming and for the sample generator.

Administratively a school year runs from 1 July to 30 June (:meth:`SchoolYear.of`): a class
named with its year ("7A 2024/25", nickname "c-2425-…") never takes over last year's team when
the source reuses the name. Teaching runs from the autumn term start (the third Monday of
August) to the second Friday of June; the spring term starts on the second Monday of January.
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

    @classmethod
    def of(cls, day: date) -> SchoolYear:
        """The school year ``day`` belongs to administratively (1 July - 30 June)."""
        return cls(day.year if day.month >= 7 else day.year - 1)

    @classmethod
    def teaching_on(cls, day: date) -> SchoolYear:
        """The school year whose teaching is under way on ``day`` or, in the summer after the
        term ends, the one that comes next."""
        sy = cls.of(day)
        return sy.next() if day > sy.end else sy

    @property
    def label(self) -> str:
        """2024/25"""
        return f"{self.year}/{(self.year + 1) % 100:02d}"

    @property
    def short(self) -> str:
        """2425"""
        return f"{self.year % 100:02d}{(self.year + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.year + 1, 6, 30)

    @property
    def autumn_start(self) -> date:
        return nth_weekday(self.year, 8, 0, 3)

    @property
    def spring_start(self) -> date:
        return nth_weekday(self.year + 1, 1, 0, 2)

    @property
    def end(self) -> date:
        """The last day of teaching: the second Friday of June."""
        return nth_weekday(self.year + 1, 6, 4, 2)

    def term_start(self, day: date) -> date:
        """The start of the term that ``day`` falls in (or, in summer, the coming autumn term)."""
        return self.spring_start if day >= self.spring_start else self.autumn_start

    def next(self) -> SchoolYear:
        return SchoolYear(self.year + 1)


def term_label(day: date) -> str:
    """The Swedish term a day falls in, for names: ``HT25`` (July-December) or ``VT26``."""
    return f"{'HT' if day.month >= 7 else 'VT'}{day.year % 100:02d}"
