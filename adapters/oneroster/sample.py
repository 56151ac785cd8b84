"""``ess sample generate --format oneroster-csv``: the synthetic municipality as a OneRoster
1.2 bulk CSV package; ``ess sample advance`` writes the package again for the new term or
year. The municipality is kept in the folder's ``.ss12000``
(see :mod:`adapters.kit.sample_snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.kit.sample_snapshot import advance_seed, generate_seed
from adapters.oneroster.writer import write_package
from engine.plugins import SampleRequest


@dataclass(frozen=True)
class OneRosterSample:
    name: str = "oneroster-csv"
    summary: str = "a synthetic Swedish municipality as a OneRoster 1.2 bulk CSV package"

    def run(self, request: SampleRequest) -> dict[str, int]:
        out = request.out
        if request.advance is None:
            snap = generate_seed(out, request)
        else:
            if request.advance not in ("term", "year"):
                raise ValueError(f"advance must be 'term' or 'year', not {request.advance!r}")
            if not (out / "manifest.csv").is_file():
                raise ValueError(
                    f"{out} is not a folder made by `ess sample generate --format oneroster-csv`"
                )
            _, snap = advance_seed(out, request)
        write_package(snap, out)
        return snap.counts()


SAMPLE = OneRosterSample()
