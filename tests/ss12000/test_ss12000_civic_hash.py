"""The SS 12000 source keeps a personnummer only as its keyed hash: in the snapshot and in the
raw records it caches for the next incremental read, which then matches a fresh full read."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from ss12000_helpers import AS_OF, MemoryCache, source_for

from adapters.ss12000.mapping import map_records
from adapters.ss12000.records import convert, encode
from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SS12000Sandbox
from engine.civic_hash import CivicHash, KeyedCivicHash, drop, is_hashed
from engine.display import PERSONNUMMER
from engine.secrets import Secret
from engine.source import SourceContext
from engine.validate import validate

KEYED = KeyedCivicHash(Secret("env:TEST_CIVIC_KEY", "a key for the tests, long enough"))


def _civic_by_id(dataset: Dataset) -> dict[str, str]:
    return {
        p["id"]: p["civicNo"]["value"]
        for p in dataset.entities["persons"]
        if isinstance(p.get("civicNo"), dict)
    }


def _civic_numbers(dataset: Dataset) -> set[str]:
    return set(_civic_by_id(dataset).values())


async def test_the_cache_and_the_snapshot_hold_keyed_hashes_only(small_dataset: Dataset) -> None:
    civic = _civic_numbers(small_dataset)
    assert civic
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        first = await source.read(SourceContext("test", cache, AS_OF, civic_hash=KEYED))
        assert first.mode == "full"
        await asyncio.to_thread(sandbox.advance, "term")
        again = await source.read(SourceContext("test", cache, AS_OF, civic_hash=KEYED))
        assert again.mode == "incremental"
        await source.aclose()
    stored = b"".join(b for recs in cache.records.values() for b in recs.values()).decode()
    assert not PERSONNUMMER.search(stored.replace("hmac-sha256:", " "))
    assert not any(c in stored for c in civic)
    held = {p.civic_no for p in again.snapshot.persons.values() if p.civic_no}
    assert held and all(is_hashed(h) for h in held)
    # a person the incremental read took from the cache carries the hash a fresh read makes
    numbers = _civic_by_id(small_dataset)
    kept = [p for p in again.snapshot.persons.values() if p.id in numbers]
    assert kept
    assert all(p.civic_no == KEYED(numbers[p.id]) for p in kept)


async def test_without_a_key_no_civic_number_is_kept(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        read = await source.read(SourceContext("test", cache, AS_OF, civic_hash=drop))
        await source.aclose()
    assert all(p.civic_no is None for p in read.snapshot.persons.values())
    stored = b"".join(b for recs in cache.records.values() for b in recs.values())
    assert b"civicNo" not in stored


@pytest.mark.parametrize("civic_hash", [KEYED, drop], ids=["keyed", "no key"])
def test_a_wrong_check_digit_is_still_found_once_hashed(civic_hash: CivicHash) -> None:
    """The hash keeps the check digit's verdict: validation finds a mistyped number from
    what the snapshot holds, and from the cached copy a later incremental read maps."""
    good, wrong = "200112240122", "200112240128"
    persons = [
        {"id": "ok", "givenName": "A", "familyName": "B", "civicNo": {"value": good}},
        {"id": "typo", "givenName": "C", "familyName": "D", "civicNo": {"value": wrong}},
    ]
    fresh = map_records({"persons": persons}, AS_OF, civic_hash=civic_hash).snapshot
    cached = [msgspec.json.decode(encode(convert(p, "persons"), civic_hash)) for p in persons]
    again = map_records({"persons": cached}, AS_OF, civic_hash=civic_hash).snapshot
    for snap in (fresh, again):
        hits = [f.record_id for f in validate(snap) if f.code == "person.civic_no_check_digit"]
        assert hits == ["typo"]
        assert not any(c in repr(p.civic_no) for p in snap.persons.values() for c in (good, wrong))
