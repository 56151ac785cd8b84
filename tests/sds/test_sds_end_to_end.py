"""The generated municipality through the engine's public API into an SDS feed delivered to a
folder, over a real SQLite journal: the files carry the published headers and read back to the
same roster; a second run delivers nothing; a term later delivers once, exactly the
differences, and ``ess show RUN`` (Ops.run) counts them by file."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from sds_support import FolderFeed, read_current, wanted_rows

from adapters.kit.sample_snapshot import advance_seed, generate_seed
from adapters.sds.columns import BY_KIND, FILES
from adapters.sds.files import read_set
from engine.display import PERSONNUMMER
from engine.ops import Ops
from engine.plugins import SampleRequest
from engine.roster import RosterPolicy, roster
from engine.testing.conformance import Bench

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "sds" / "v2.1"


def published_header(name: str) -> list[str]:
    with open(SPEC / name, encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


async def test_the_municipality_as_sds_files_and_a_term_later(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    # made a term ago; every run maps the source as of today (the memory source's rule)
    today = date.today()
    made = generate_seed(
        sample,
        SampleRequest(
            out=sample, size="150", seed=4, as_of=(today - timedelta(days=150)).isoformat()
        ),
    )
    snap = replace(made, as_of=today)
    feed = FolderFeed(tmp_path)
    bench = Bench(tmp_path, feed)
    bench.source(snap)

    first = await bench.sync()
    assert first.status == "succeeded", (first.counts, first.error)
    assert len(feed.sets()) == 1  # every object of the run, one delivery

    files = read_current(feed.folder)
    for spec in FILES:
        text = files[spec.name].decode("utf-8")
        assert next(csv.reader(io.StringIO(text))) == published_header(spec.name)
        assert "\n" not in text.replace("\r\n", "")  # no line break inside a value
    rows = read_set(files)

    # parsed back: the same roster
    r = roster(snap, RosterPolicy())
    assert set(rows["user"]) == set(r.persons)
    for pid, row in rows["user"].items():
        p = r.persons[pid]
        assert (row["givenName"], row["familyName"]) == (p.given_name, p.family_name)
        assert row["username"] in {e.lower() for e in (*p.eppns, *p.emails)}
    assert set(rows["class"]) == set(r.groups)
    assert {
        (x["classSourcedId"], x["userSourcedId"])
        for x in rows["enrollment"].values()
        if x["role"] == "student"
    } == {(g, p) for g, ps in r.members.items() for p in ps}
    assert {
        (x["classSourcedId"], x["userSourcedId"])
        for x in rows["enrollment"].values()
        if x["role"] == "teacher"
    } == {(g, p) for g, ps in r.teachers.items() for p in ps}
    assert {(x["orgSourcedId"], x["userSourcedId"]) for x in rows["role"].values()} == set(
        r.school_users
    )
    roles = {x["userSourcedId"]: x["role"] for x in rows["role"].values()}
    assert all(roles[p] == r.roles[p] for p in roles)
    assert set(rows["org"]) == set(snap.schools)
    # nothing like a personnummer anywhere in the set
    assert not PERSONNUMMER.search(b"".join(files.values()).decode())

    second = await bench.sync()
    assert second.status == "succeeded" and not second.counts.get("planned", 0), second.counts
    assert len(feed.sets()) == 1  # nothing delivered

    before_rows = wanted_rows(snap, feed.table())
    _, later = advance_seed(
        sample, SampleRequest(out=sample, as_of=today.isoformat(), advance="term")
    )
    bench.source(later)
    third = await bench.sync()
    assert third.status == "succeeded", (third.counts, third.error)
    assert len(feed.sets()) == 2  # once more, for the whole term's changes

    after_rows = wanted_rows(later, feed.table())
    assert read_set(read_current(feed.folder)) == {
        spec.kind: after_rows.get(spec.kind, {}) for spec in FILES
    }
    expected: dict[tuple[str, str], int] = {}
    for spec in FILES:
        old, new = before_rows.get(spec.kind, {}), after_rows.get(spec.kind, {})
        for action, n in (
            ("create", len(new.keys() - old.keys())),
            ("suspend", len(old.keys() - new.keys())),
            ("update", sum(1 for k in new.keys() & old.keys() if new[k] != old[k])),
        ):
            if n:
                expected[(action, spec.kind)] = n
    async with await Ops.open(bench.config, actor="test") as ops:
        detail = await ops.run(third.id)
    shown = {(c.action, c.kind): c.count for c in detail.operations}
    assert shown == expected
    assert sum(expected.values()) == third.counts["planned"] > 0
    assert {kind for _, kind in expected} <= set(BY_KIND)
