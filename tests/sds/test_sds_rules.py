"""SDS's rules before delivery, through whole runs into a folder: a row SDS would reject is a
finding on its record and is left out when new, or keeps its last delivered row (with the
rows that point at it) when it was delivered before; bad data never removes a row; a file
over SDS's row limit holds the whole set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sds_support import FolderFeed, read_current

from adapters.sds.files import read_set
from engine.model import Snapshot
from engine.ops import Ops
from engine.testing.conformance import Bench
from engine.testing.conformance.cases import municipality, pupils


def with_person(snap: Snapshot, pid: str, **changes: object) -> Snapshot:
    persons = dict(snap.persons)
    persons[pid] = replace(persons[pid], **changes)  # type: ignore[arg-type]
    return replace(snap, persons=persons)


async def findings(bench: Bench, run_id: int) -> list[tuple[str, str]]:
    async with await Ops.open(bench.config, actor="test") as ops:
        return [(f.code, f.record_id) for f in await ops.findings("alpha", run_id=run_id)]


def rows(feed: FolderFeed) -> dict[str, dict[str, dict[str, str]]]:
    return read_set(read_current(feed.folder))


async def test_a_delivered_user_gone_bad_keeps_its_last_row(tmp_path: Path) -> None:
    feed = FolderFeed(tmp_path)
    bench = Bench(tmp_path, feed)
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    pid = pupils(snap)[0]
    before = rows(feed)
    mine = {k for k, r in before["enrollment"].items() if r["userSourcedId"] == pid}
    assert mine and pid in before["user"]

    # an address SDS would reject (RFC 5322): the row is refused
    bad = bench.source(with_person(snap, pid, emails=("anna@@skola",), eppns=()))
    run = await bench.sync()
    assert run.status == "succeeded"
    codes = {code for code, record in await findings(bench, run.id) if record == pid}
    assert codes & {"sds.username", "sds.email"}
    after = rows(feed)
    assert after == before  # nothing changed in the files, nothing removed
    assert not run.counts.get("planned", 0)

    # the pupil also leaves a class while refused: the row stays as delivered
    left = replace(bad, memberships=tuple(m for m in bad.memberships if m.person_id != pid))
    bench.source(left)
    run = await bench.sync()
    assert mine <= set(rows(feed)["enrollment"])

    # fixed in the source: the row is updated and the class change goes through
    fixed = with_person(left, pid, given_name="Ann-Katrin", emails=("ak@skola.example",))
    bench.source(fixed)
    run = await bench.sync()
    assert run.status == "succeeded"
    now = rows(feed)
    assert now["user"][pid]["givenName"] == "Ann-Katrin"
    assert not mine & set(now["enrollment"])


async def test_a_new_user_without_an_address_is_left_out_with_a_finding(tmp_path: Path) -> None:
    feed = FolderFeed(tmp_path)
    bench = Bench(tmp_path, feed)
    snap = municipality()
    pid = pupils(snap)[1]
    bench.source(with_person(snap, pid, emails=(), eppns=()))
    run = await bench.sync()
    assert run.status == "succeeded"
    assert ("sds.required", pid) in await findings(bench, run.id)
    delivered = rows(feed)
    assert pid not in delivered["user"]
    assert not any(r["userSourcedId"] == pid for r in delivered["role"].values())
    assert not any(r["userSourcedId"] == pid for r in delivered["enrollment"].values())
    assert len(delivered["user"]) == len(snap.persons) - 1


async def test_a_user_refused_by_the_source_keeps_every_row(tmp_path: Path) -> None:
    feed = FolderFeed(tmp_path)
    bench = Bench(tmp_path, feed)
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    before = rows(feed)
    pid = pupils(snap)[2]
    # the source refuses the person (a bad record): unknown, not gone
    bench.source(snap.refusing(persons={pid}))
    run = await bench.sync()
    assert run.status == "succeeded"
    assert rows(feed) == before


async def test_a_file_over_the_row_limit_holds_the_whole_set(tmp_path: Path) -> None:
    feed = FolderFeed(tmp_path, max_rows_per_file=50)
    bench = Bench(tmp_path, feed)
    bench.source(municipality())  # 128 enrollments
    run = await bench.sync()
    assert ("sds.too_many_rows", "enrollments.csv") in await findings(bench, run.id)
    assert not run.counts.get("planned", 0)
    assert not (feed.folder / "current").exists()
