"""The kit's dates: the day an ISO date or date-time gives, or None."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.kit.dates import leading_day


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2025-08-18", date(2025, 8, 18)),
        ("2025-08-18T07:30:00Z", date(2025, 8, 18)),
        ("2025-08-18 07:30", date(2025, 8, 18)),
        ("2025-02-30", None),
        ("18/08/2025", None),
        ("2025-08-18X", None),
        ("", None),
    ],
)
def test_the_day_a_date_or_date_time_gives(raw: str, day: date | None) -> None:
    assert leading_day(raw) == day
