"""``ess source rekey`` on a large municipality: matching, and the journal's move.

Builds a synthetic municipality in two id spaces (the same persons, schools and classes with
other ids), a journal whose mirror holds every object and link of one memory-like target, then
times the matching (``engine.rekey.map_ids``) and the journal's move in one transaction
(``move_source_ids``), and prints the process's peak memory. Defaults are about a large
municipality's: 100,000 persons, 5,000 groups, 20 memberships each (2,000,000 links).

    python benchmarks/rekey.py
    python benchmarks/rekey.py --persons 20000 --links-per-person 10
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import MatchKeys, TenantPolicy  # noqa: E402
from engine.journal import SqliteJournal  # noqa: E402
from engine.links import LinkSet  # noqa: E402
from engine.model import Group, GroupType, Person, School, Snapshot  # noqa: E402
from engine.rekey import IdMap, key_moves, map_ids  # noqa: E402
from engine.target import MirrorObject, ObservedState, TargetBase  # noqa: E402
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig  # noqa: E402

DAY = date(2026, 11, 2)


def municipality(prefix: str, persons: int, groups: int, schools: int) -> Snapshot:
    s = {
        f"{prefix}s{i}": School(f"{prefix}s{i}", f"Skola {i}", f"{10000000 + i:08d}")
        for i in range(schools)
    }
    p = {
        f"{prefix}p{i}": Person(f"{prefix}p{i}", "Förnamn", f"E{i}", eppns=(f"u{i}@kommun.se",))
        for i in range(persons)
    }
    g = {
        f"{prefix}g{i}": Group(
            f"{prefix}g{i}", f"K{i}", GroupType.KLASS, f"{prefix}s{i % schools}", start=DAY
        )
        for i in range(groups)
    }
    return Snapshot(s, p, g, (), (), DAY)


def mirror(old: Snapshot, groups: int, per_person: int) -> ObservedState:
    def obj(kind: str, key: str) -> MirrorObject:
        return MirrorObject(kind, key, f"t-{key}", "fp", (("name", key),), label=key)

    objects = {
        "school": {k: obj("school", k) for k in old.schools},
        "user": {k: obj("user", k) for k in old.persons},
        "group": {k: obj("group", k) for k in old.groups},
    }
    gids = list(old.groups)
    members: dict[str, list[str]] = {}
    for n, pid in enumerate(old.persons):
        for j in range(per_person):
            members.setdefault(gids[(n * 7 + j * 131) % groups], []).append(pid)
    return ObservedState(objects, {"group.member": LinkSet.from_groups(members)})


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(persons: int, groups: int, per_person: int, schools: int) -> None:
    started = time.perf_counter()
    old = municipality("ims-", persons, groups, schools)
    new = municipality("uuid-", persons, groups, schools)
    observed = mirror(old, groups, per_person)
    links = len(observed.links["group.member"])
    print(f"municipality: {persons} persons, {groups} groups, {links} links")
    t = time.perf_counter()
    mapping: IdMap = map_ids(old, new, MatchKeys(), "exclude")
    print(f"match: {time.perf_counter() - t:.2f} s ({sum(mapping.matched.values())} matched)")
    with tempfile.TemporaryDirectory() as tmp:
        j = await SqliteJournal.open(Path(tmp) / "ess.db")
        try:
            await j.replace_mirror("bench", "mem", observed)
            print(f"set up in {time.perf_counter() - started:.1f} s; peak {peak_mb():.0f} MB")
            cfg = MemoryTargetConfig(state=Path(tmp) / "target.json")
            target: TargetBase = MemoryTarget("mem", cfg, TenantPolicy(), Path(tmp))
            moves = key_moves(mapping, {"mem": target}, ["bench"])
            before = peak_mb()
            t = time.perf_counter()
            counts = await j.move_source_ids("bench", moves, "bench")
            took = time.perf_counter() - t
            print(
                f"move: {took:.1f} s, rows {counts}; peak memory {peak_mb():.0f} MB "
                f"({before:.0f} MB before the move)"
            )
            back = await j.load_mirror("bench", "mem")
            assert len(back.links["group.member"]) == links
            assert set(back.objects["user"]) == set(new.persons)
        finally:
            await j.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=5_000)
    ap.add_argument("--links-per-person", type=int, default=20)
    ap.add_argument("--schools", type=int, default=40)
    a = ap.parse_args()
    asyncio.run(main(a.persons, a.groups, a.links_per_person, a.schools))
