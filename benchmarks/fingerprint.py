"""Attribute fingerprints, legacy (``repr``) against current (orjson JSON), per call.

Times both on the attribute maps of a generated municipality's Microsoft desired state (users,
classes, schools and teams as the mapping makes them), best of several rounds with the collector
paused, and scales the time per call to 300,000 objects (about a large municipality's).

    python benchmarks/fingerprint.py            # the small sample, made in a temporary folder
    python benchmarks/fingerprint.py --size 2000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.ss12000.sample.dataset import write_dataset  # noqa: E402
from adapters.ss12000.sample.generate import generate  # noqa: E402
from engine.perf import gc_paused  # noqa: E402
from engine.secrets import SecretResolver  # noqa: E402
from engine.source import SourceContext  # noqa: E402
from engine.target import Attrs, attrs_fingerprint, legacy_attrs_fingerprint  # noqa: E402

AS_OF = date(2026, 10, 5)
LARGE = 300_000


def desired_attrs(size: str, seed: int) -> dict[str, list[Attrs]]:
    from adapters.ss12000.source import SS12000Source
    from benchmarks.plan import NoCache, microsoft_target

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_dataset(generate(size, seed, AS_OF), folder)
        source = SS12000Source.from_config(
            {"type": "ss12000", "path": str(folder)}, SecretResolver(base_dir=folder)
        )
        ctx = SourceContext(tenant="bench", cache=NoCache(), today=AS_OF)
        snap = asyncio.run(source.read(ctx, full=True)).snapshot
    desired = microsoft_target().desired(snap)
    return {kind: [o.attrs for o in t.values()] for kind, t in desired.objects.items()}


def per_call_us(maps: Sequence[Attrs], rounds: int) -> tuple[float, float]:
    """Best time per call of the legacy and of the current fingerprint, taken in turns so
    that a busy moment of a shared machine weighs on both alike."""
    best = {legacy_attrs_fingerprint: float("inf"), attrs_fingerprint: float("inf")}
    with gc_paused():
        for _ in range(rounds):
            for fn in best:
                t = time.perf_counter()
                for a in maps:
                    fn(a)
                best[fn] = min(best[fn], time.perf_counter() - t)
    old, new = best.values()
    return old / len(maps) * 1e6, new / len(maps) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small", help="small, medium or a pupil count")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    by_kind = desired_attrs(args.size, args.seed)
    # a team's fingerprint is one constant (TEAM_FINGERPRINT): the rest are made per object
    by_kind["made"] = [a for kind, maps in by_kind.items() if kind != "team" for a in maps]
    print(f"{'kind':8} {'objects':>8} {'legacy µs':>10} {'current µs':>11} {'speed-up':>9}")
    for kind, maps in by_kind.items():
        old, new = per_call_us(maps, args.rounds)
        print(f"{kind:8} {len(maps):>8} {old:>10.2f} {new:>11.2f} {old / new:>8.1f}x")
    print(
        f"for {LARGE:,} objects made alike: legacy {old * LARGE / 1e6:.2f} s, current "
        f"{new * LARGE / 1e6:.2f} s"
    )


if __name__ == "__main__":
    main()
