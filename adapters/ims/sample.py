"""``ess sample generate --format ims``: the synthetic municipality as IMS Enterprise XML.

The folder holds a complete export (``0001-complete.xml``); ``ess sample advance`` adds a
delta export for each step (``0002-delta.xml``, ...), so the folder reads as a customer's
export folder does: the complete export, then the deltas in name order. The municipality
itself is kept in the folder's ``.ss12000`` (see :mod:`adapters.kit.sample_snapshot`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.ims.writer import write_complete, write_delta
from adapters.kit.sample_snapshot import SeedSample
from engine.model import Snapshot


def _exports(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("[0-9][0-9][0-9][0-9]-*.xml") if p.is_file())


@dataclass(frozen=True)
class ImsSample(SeedSample):
    """A synthetic municipality as a Tieto Organization API (v12) export."""

    name: str = "ims"
    summary: str = "a synthetic Swedish municipality as IMS Enterprise XML (Tieto v12, TK450)"

    def prepare(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for old in _exports(out):
            old.unlink()

    def made(self, out: Path) -> bool:
        return bool(_exports(out))

    def write_first(self, snap: Snapshot, out: Path) -> dict[str, int]:
        write_complete(snap, out / "0001-complete.xml")
        return snap.counts()

    def write_next(self, before: Snapshot, after: Snapshot, out: Path) -> dict[str, int]:
        number = int(_exports(out)[-1].name[:4]) + 1
        changes = write_delta(before, after, out / f"{number:04d}-delta.xml")
        return after.counts() | changes


SAMPLE = ImsSample()
