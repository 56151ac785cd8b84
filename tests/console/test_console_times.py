"""The console shows clock times in the machine's own time zone, as the command line does, so
a support engineer reads the same time for a run in both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from console.render import when
from console.tui import fmt

SWEDEN = "CET-1CEST,M3.5.0,M10.5.0/3"  # a POSIX rule: needs no time zone database


@pytest.fixture
def swedish_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", SWEDEN)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_console_and_command_line_show_the_same_local_time(swedish_clock: None) -> None:
    winter = datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, 30, tzinfo=UTC)
    assert fmt.clock_time(winter) == "2026-01-15 13:00"
    assert fmt.clock_seconds(summer) == "14:00:30"
    assert when(winter) == "2026-01-15 13:00:30"
    assert when(summer).endswith(fmt.clock_seconds(summer))
    # the journal's naive times are UTC
    assert fmt.clock_time(winter.replace(tzinfo=None)) == "2026-01-15 13:00"
    assert fmt.clock_time(None) == "-"


def test_the_tests_see_utc_otherwise() -> None:
    """The suite pins UTC (tests/conftest.py), so snapshots print alike on every machine."""
    assert fmt.clock_seconds(datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)) == "12:00:30"
