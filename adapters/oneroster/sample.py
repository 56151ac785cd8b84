"""``ess sample generate --format oneroster-csv``: the synthetic municipality as a OneRoster
1.2 bulk CSV package; ``ess sample advance`` writes the package again for the new term or
year. The municipality is kept in the folder's ``.ss12000``
(see :mod:`adapters.kit.sample_snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.kit.sample_snapshot import advance_seed, check_advance, generate_seed
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
            check_advance(request, self.name, (out / "manifest.csv").is_file())
            _, snap = advance_seed(out, request)
        write_package(snap, out)
        return snap.counts()


SAMPLE = OneRosterSample()
