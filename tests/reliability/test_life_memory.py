"""A municipality's life against the memory target (see tests/reliability/life.py).

CI runs a few derandomized examples; ``-m reliability_long`` runs many more (docs/reliability.md).
"""

from __future__ import annotations

import pytest

from tests.reliability.life import MunicipalityLife, run_life
from tests.reliability.targets import MemoryKit


class MemoryLife(MunicipalityLife):
    make_kit = MemoryKit
    pupils = 60  # large enough that one refused pair of pupils is below the guard's share
    teachers = 8


def test_municipality_life_on_memory_target() -> None:
    run_life(MemoryLife, 10, 12)


@pytest.mark.reliability_long
def test_municipality_life_on_memory_target_long() -> None:
    run_life(MemoryLife, 100, 30)
