"""``ess sample ss12000``: write a fresh sample folder, or advance one in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from adapters.ss12000.sample.advance import advance
from adapters.ss12000.sample.dataset import read_dataset, write_dataset
from adapters.ss12000.sample.generate import generate, size_spec
from adapters.ss12000.sample.schoolyear import school_year_of
from engine.plugins import SampleRequest


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"as-of {text!r} is not a date like 2025-09-01") from None


def _default_day(kind: str, previous: date) -> date:
    """Today, but always after the dataset's day; for a year, at least the next autumn start."""
    today = date.today()
    if kind == "year":
        return max(today, school_year_of(previous).next().autumn_start)
    return max(today, previous + timedelta(days=1))


@dataclass(frozen=True)
class Ss12000Sample:
    """A synthetic municipality as the saved pages of an SS 12000:2020 API."""

    name: str = "ss12000"
    summary: str = "a synthetic Swedish municipality as SS 12000:2020 JSON pages"

    def run(self, request: SampleRequest) -> dict[str, int]:
        """Generate into ``request.out`` or advance the folder there; returns counts."""
        day = _parse_day(request.as_of)
        if request.advance is None:
            label, _ = size_spec(request.size)
            ds = generate(label, request.seed, day or date.today())
        else:
            kind: Literal["term", "year"]
            if request.advance == "term":
                kind = "term"
            elif request.advance == "year":
                kind = "year"
            else:
                raise ValueError(f"advance must be 'term' or 'year', not {request.advance!r}")
            before = read_dataset(request.out)
            ds = advance(before, kind=kind, as_of=day or _default_day(kind, before.manifest.as_of))
        write_dataset(ds, request.out)
        return ds.counts()


SAMPLE = Ss12000Sample()
