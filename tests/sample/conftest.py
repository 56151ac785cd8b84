"""Shared sample datasets for the generator's tests (built once per session; treat as read-only)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.ss12000.sample.advance import advance
from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sample.generate import generate

AS_OF = date(2025, 9, 1)
TERM_DAY = date(2026, 1, 12)
YEAR_DAY = date(2026, 8, 17)


@pytest.fixture(scope="session")
def small() -> Dataset:
    return generate("small", 3, AS_OF)


@pytest.fixture(scope="session")
def after_term(small: Dataset) -> Dataset:
    return advance(small, kind="term", as_of=TERM_DAY)


@pytest.fixture(scope="session")
def after_year(after_term: Dataset) -> Dataset:
    return advance(after_term, kind="year", as_of=YEAR_DAY)


@pytest.fixture(scope="session")
def town2000() -> Dataset:
    return generate(2000, 11, AS_OF)
