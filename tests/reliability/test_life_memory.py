"""A municipality's life against the memory target (see tests/reliability/life.py).

CI runs a few derandomized examples; ``-m reliability_long`` runs many more (docs/reliability.md).
"""

from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from tests.reliability.life import MunicipalityLife, life_settings
from tests.reliability.targets import MemoryKit


class MemoryLife(MunicipalityLife):
    make_kit = MemoryKit


def test_municipality_life_on_memory_target() -> None:
    run_state_machine_as_test(MemoryLife, settings=life_settings(6, 12))


@pytest.mark.reliability_long
def test_municipality_life_on_memory_target_long() -> None:
    run_state_machine_as_test(MemoryLife, settings=life_settings(200, 40))
