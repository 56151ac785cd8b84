"""The ``ess.samples`` plugin: what ``ess sample generate/advance`` runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.ss12000.sample.command import SAMPLE
from adapters.ss12000.sample.dataset import read_dataset
from engine.plugins import SampleCommand, SampleRequest, load


def test_is_the_registered_plugin():
    assert isinstance(SAMPLE, SampleCommand)
    assert SAMPLE.name == "ss12000"
    assert load("ess.samples", "ss12000") is SAMPLE


def test_generate_then_advance(tmp_path: Path):
    out = tmp_path / "town"
    counts = SAMPLE.run(SampleRequest(out=out, size="300", seed=2, as_of="2025-09-01"))
    ds = read_dataset(out)
    assert counts == ds.counts()
    assert counts["persons"] > 300
    assert counts["memberships"] > 8 * 300
    assert (ds.manifest.size, ds.manifest.seed, ds.manifest.generation) == ("300", 2, 0)

    counts = SAMPLE.run(SampleRequest(out=out, as_of="2026-01-12", advance="term"))
    ds = read_dataset(out)
    assert counts == ds.counts()
    assert counts["deletions"] > 0
    assert (ds.manifest.generation, ds.manifest.as_of.isoformat()) == (1, "2026-01-12")

    SAMPLE.run(SampleRequest(out=out, advance="year"))  # no date: the next autumn or today
    ds = read_dataset(out)
    assert ds.manifest.generation == 2
    assert ds.manifest.as_of.isoformat() >= "2026-08-17"


def test_named_size(tmp_path: Path):
    counts = SAMPLE.run(SampleRequest(out=tmp_path, size="small", seed=1, as_of="2025-09-01"))
    assert counts["organisations"] >= 4
    assert read_dataset(tmp_path).manifest.size == "small"


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (SampleRequest(out=Path("unused"), size="enormous"), "size"),
        (SampleRequest(out=Path("unused"), as_of="1st of May"), "as-of"),
        (SampleRequest(out=Path("unused"), advance="week", as_of="2026-01-01"), "advance"),
    ],
)
def test_bad_requests_say_why(request_: SampleRequest, problem: str):
    with pytest.raises(ValueError, match=problem):
        SAMPLE.run(request_)


def test_advance_needs_a_sample(tmp_path: Path):
    with pytest.raises(ValueError, match=r"manifest\.json"):
        SAMPLE.run(SampleRequest(out=tmp_path, advance="term", as_of="2026-01-12"))
