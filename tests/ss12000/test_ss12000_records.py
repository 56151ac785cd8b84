"""Typed decoding of SS 12000 pages: the quick path maps exactly like plain JSON, a page with
one badly typed record still yields the rest, and what is cached is only what ESS reads."""

from __future__ import annotations

import copy
import gc
import weakref
from pathlib import Path
from typing import Any

import orjson
from ss12000_helpers import AS_OF, MemoryCache, context, same_snapshot, source_for

from adapters.ss12000 import records
from adapters.ss12000.config import SS12000Config
from adapters.ss12000.mapping import Collector, map_records
from adapters.ss12000.pages import decode_page
from adapters.ss12000.sample.dataset import Dataset, write_dataset
from adapters.ss12000.sandbox import SS12000Sandbox
from adapters.ss12000.source import SS12000Source


def test_a_page_that_fits_decodes_to_structs_and_one_that_does_not_to_plain_json(
    small_dataset: Dataset,
) -> None:
    persons = small_dataset.entities["persons"]
    body = orjson.dumps({"data": persons, "pageToken": "next"})
    page = decode_page(body, "persons page 1", "application/json", entity="persons")
    assert page.token == "next"
    assert all(type(r) is records.Person for r in page.records)
    assert [r.id for r in page.records] == [p["id"] for p in persons]

    broken = copy.deepcopy(persons)
    broken[3]["familyName"] = 42
    page = decode_page(orjson.dumps({"data": broken}), "persons page 1", entity="persons")
    assert all(type(r) is dict for r in page.records)  # the mapping converts them one by one


async def test_structs_and_plain_json_give_the_same_snapshot(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    write_dataset(small_dataset, tmp_path)
    typed = await SS12000Source(SS12000Config(path=str(tmp_path))).read(context())
    plain = map_records(copy.deepcopy(small_dataset.entities), AS_OF)
    same_snapshot(typed.snapshot, plain.snapshot)
    assert typed.snapshot.memberships == plain.snapshot.memberships
    assert typed.snapshot.school_roles == plain.snapshot.school_roles
    assert typed.findings == plain.findings == ()


async def test_one_badly_typed_record_blocks_only_itself(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    entities = copy.deepcopy(small_dataset.entities)
    victim = entities["persons"][5]
    victim["familyName"] = 42
    victim["civicNo"] = {"value": "200112240129"}
    entities["groups"][2]["groupMemberships"][0]["startDate"] = 20250818
    for entity, recs in entities.items():
        (tmp_path / f"{entity}.json").write_bytes(orjson.dumps({"data": recs}))
    read = await SS12000Source(SS12000Config(path=str(tmp_path))).read(context())
    by_id = {f.record_id: f for f in read.findings if f.blocking}
    assert set(by_id) == {victim["id"], entities["groups"][2]["id"]}
    person = by_id[victim["id"]].message
    assert "familyName has the wrong type (expected str, got int)" in person
    assert "200112240129" not in person
    group = by_id[entities["groups"][2]["id"]].message
    assert "groupMemberships[0].startDate has the wrong type" in group
    snap = read.snapshot
    assert victim["id"] not in snap.persons
    assert len(snap.persons) == len(entities["persons"]) - 1
    assert len(snap.groups) == len(entities["groups"]) - 1


async def test_the_cache_keeps_only_what_ess_reads(small_dataset: Dataset) -> None:
    cache = MemoryCache()
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        await source.read(context(cache), full=True)
        await source.aclose()
    stored = cache.records["persons"]
    assert len(stored) == len(small_dataset.entities["persons"])
    some: dict[str, Any] = orjson.loads(next(iter(stored.values())))
    served = next(p for p in small_dataset.entities["persons"] if p["id"] == some["id"])
    assert "birthDate" in served and "meta" in served
    assert "birthDate" not in some and "meta" not in some and "sex" not in some
    assert some["givenName"] == served["givenName"]
    # and a stored record decodes back into the struct it came from
    assert type(records.decode_record(orjson.dumps(some), "persons")) is records.Person


def test_a_read_leaves_no_cyclic_garbage_behind() -> None:
    """What a bulk step drops must go by reference counting alone: while frozen, anything
    held only by a cycle would stay until the run ends."""
    collector = Collector(AS_OF)
    collector.add("persons", {"id": "p1", "givenName": "A", "familyName": "B"}, "test")
    ref = weakref.ref(collector)
    collector.finish()
    gc.disable()
    try:
        del collector
        assert ref() is None
    finally:
        gc.enable()
