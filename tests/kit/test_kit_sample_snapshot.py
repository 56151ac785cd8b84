"""The one synthetic municipality as a snapshot, for sample generators of other formats."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters.kit.sample_snapshot import advance_seed, generate_seed, read_seed, seed_as_of
from engine.plugins import SampleRequest


def test_a_folder_without_the_kept_municipality_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a folder made by `ess sample generate`"):
        seed_as_of(tmp_path)


def test_the_kept_municipality_reads_the_same_each_time_and_moves_on(tmp_path: Path) -> None:
    request = SampleRequest(out=tmp_path, size="40", seed=3, as_of="2025-09-15")
    made = generate_seed(tmp_path, request)
    assert seed_as_of(tmp_path) == date(2025, 9, 15)
    again = read_seed(tmp_path)
    assert made.persons == again.persons and made.groups == again.groups
    assert made.counts()["persons"] > 40
    before, after = advance_seed(
        tmp_path, SampleRequest(out=tmp_path, as_of="2026-01-15", advance="term")
    )
    assert before.persons == made.persons
    assert after.as_of == date(2026, 1, 15) == seed_as_of(tmp_path)
    assert after.persons != before.persons  # a term on: leavers and newcomers
