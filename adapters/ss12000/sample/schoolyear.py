"""The school calendar as the generator writes it: the kit's school year, and the time stamp
every change effective on a day carries."""

from __future__ import annotations

from datetime import date

from adapters.kit.schoolyear import SchoolYear, term_label

__all__ = ["SchoolYear", "school_year_of", "stamp", "term_label"]

school_year_of = SchoolYear.teaching_on
"""The school year whose teaching is under way on a day (the summer after term end belongs to
the next)."""


def stamp(day: date) -> str:
    """The RFC 3339 time every change effective on ``day`` carries: 06:00 UTC."""
    return f"{day.isoformat()}T06:00:00Z"
