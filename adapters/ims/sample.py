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
from adapters.kit.sample_snapshot import advance_seed, check_advance, generate_seed
from engine.plugins import SampleRequest


def _exports(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("[0-9][0-9][0-9][0-9]-*.xml") if p.is_file())


@dataclass(frozen=True)
class ImsSample:
    """A synthetic municipality as a Tieto Organization API (v12) export."""

    name: str = "ims"
    summary: str = "a synthetic Swedish municipality as IMS Enterprise XML (Tieto v12, TK450)"

    def run(self, request: SampleRequest) -> dict[str, int]:
        out = request.out
        if request.advance is None:
            out.mkdir(parents=True, exist_ok=True)
            for old in _exports(out):
                old.unlink()
            snap = generate_seed(out, request)
            write_complete(snap, out / "0001-complete.xml")
            return snap.counts()
        exports = _exports(out)
        check_advance(request, self.name, bool(exports))
        before, after = advance_seed(out, request)
        number = int(exports[-1].name[:4]) + 1
        changes = write_delta(before, after, out / f"{number:04d}-delta.xml")
        return after.counts() | changes


SAMPLE = ImsSample()
