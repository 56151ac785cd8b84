"""Fixtures for the SS 12000 tests."""

from __future__ import annotations

import pytest
from ss12000_helpers import AS_OF, SMALL

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sample.generate import generate


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    """A small generated municipality (shared: tests must not change it)."""
    return generate(SMALL, 7, AS_OF)
