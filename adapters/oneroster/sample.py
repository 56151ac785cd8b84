"""``ess sample generate --format oneroster-csv``: the synthetic municipality as a OneRoster
1.2 bulk CSV package; ``ess sample advance`` writes the package again for the new term or
year. The municipality is kept in the folder's ``.ss12000``
(see :mod:`adapters.kit.sample_snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.kit.sample_snapshot import SeedSample
from adapters.oneroster.writer import write_package
from engine.model import Snapshot


@dataclass(frozen=True)
class OneRosterSample(SeedSample):
    name: str = "oneroster-csv"
    summary: str = "a synthetic Swedish municipality as a OneRoster 1.2 bulk CSV package"

    def made(self, out: Path) -> bool:
        return (out / "manifest.csv").is_file()

    def write_first(self, snap: Snapshot, out: Path) -> dict[str, int]:
        write_package(snap, out)
        return snap.counts()

    def write_next(self, before: Snapshot, after: Snapshot, out: Path) -> dict[str, int]:
        return self.write_first(after, out)


SAMPLE = OneRosterSample()
