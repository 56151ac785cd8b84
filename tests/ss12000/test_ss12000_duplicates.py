"""An id the source lists twice within one entity blocks both copies: which one is right cannot
be told, and taking the later one silently (as a dict would) could give a pupil another
person's name or class. The finding names where each copy came from, never a personnummer; it
comes alike from a folder of pages, from a read helper and from a server over HTTP."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from ss12000_helpers import context, source_for

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.read_helper import HelperSettings
from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SS12000Sandbox
from adapters.ss12000.source import SS12000Source
from engine.source import SourceRead

PAGE = 37


def write_pages(dataset: Dataset, root: Path) -> None:
    """Each entity as pages of PAGE records: ``<entity>/page-00000.json`` and so on."""
    for entity, records in dataset.entities.items():
        (root / entity).mkdir(parents=True)
        for n in range(0, len(records), PAGE):
            doc = {"data": records[n : n + PAGE], "pageToken": None}
            (root / entity / f"page-{n:05d}.json").write_bytes(orjson.dumps(doc))


def with_copies(dataset: Dataset) -> tuple[Dataset, dict[str, str]]:
    """The dataset with one record of each entity listed again further on (slightly changed,
    as a second copy in a real export would be); returns it and the ids copied."""
    entities = copy.deepcopy(dataset.entities)
    copied: dict[str, str] = {}
    for entity, records in entities.items():
        if not records:
            continue
        first = next((r for r in records if r.get("organisationType") == "Skolenhet"), records[0])
        again: dict[str, Any] = copy.deepcopy(first)
        if "givenName" in again:
            again["givenName"] = "Someone Else"
        if "displayName" in again:
            again["displayName"] = str(again["displayName"]) + " (copy)"
        records.insert(min(len(records), PAGE + 3), again)  # on the second page, item 4
        copied[entity] = first["id"]
    return Dataset(entities, dataset.deletions, dataset.manifest), copied


def folder_source(path: Path, helper: HelperSettings | None = None) -> SS12000Source:
    if helper is None:
        return SS12000Source(SS12000Config(path=str(path), parallel_read=False))
    return SS12000Source(SS12000Config(path=str(path)), helper=helper)


def civic_numbers(dataset: Dataset) -> list[str]:
    return [p["civicNo"]["value"] for p in dataset.entities["persons"] if p.get("civicNo")]


def check_blocked(read: SourceRead, dataset: Dataset, copied: dict[str, str]) -> dict[str, Any]:
    snap = read.snapshot
    assert copied["persons"] not in snap.persons
    assert copied["organisations"] not in snap.schools
    assert copied["groups"] not in snap.groups
    dupes = {f.record_id: f for f in read.findings if f.code == "ss12000.duplicate_id"}
    assert set(dupes) == set(copied.values())
    assert all(f.blocking for f in dupes.values())
    numbers = civic_numbers(dataset)
    for f in read.findings:
        for number in numbers:
            assert number not in f.message + f.fix
    # a person who is not copied is read as ever
    kept = next(p["id"] for p in dataset.entities["persons"][1:] if p["id"] != copied["persons"])
    assert kept in snap.persons
    return dupes


async def test_a_copied_id_in_a_folder_blocks_both_and_names_both_places(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    dataset, copied = with_copies(small_dataset)
    write_pages(dataset, tmp_path)
    read = await folder_source(tmp_path).read(context())
    dupes = check_blocked(read, dataset, copied)
    person = dupes[copied["persons"]]
    assert person.record_type == "person"
    first_item = 1 + next(
        i for i, p in enumerate(dataset.entities["persons"]) if p["id"] == copied["persons"]
    )
    assert f"page-00000.json item {first_item}" in person.message
    assert "page-00037.json item 4" in person.message
    assert "2 times" in person.message
    assert dupes[copied["organisations"]].record_type == "organisation"
    assert dupes[copied["groups"]].record_type == "group"


async def test_without_the_copies_the_same_records_are_read(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    """The records the copies block are otherwise read: they are blocked for being copied."""
    _, copied = with_copies(small_dataset)
    write_pages(small_dataset, tmp_path)
    read = await folder_source(tmp_path).read(context())
    assert copied["persons"] in read.snapshot.persons
    assert copied["groups"] in read.snapshot.groups
    assert not [f for f in read.findings if f.code == "ss12000.duplicate_id"]


@pytest.mark.parametrize("entity", ["persons", "groups"])
async def test_a_read_helper_finds_the_copies_of_its_entity(
    small_dataset: Dataset, tmp_path: Path, entity: str
) -> None:
    dataset, copied = with_copies(small_dataset)
    write_pages(dataset, tmp_path)
    helper = HelperSettings(min_bytes=0, cpus=2, entity=entity)
    events: list[tuple[str, str]] = []
    ctx = context()
    ctx = type(ctx)(ctx.tenant, ctx.cache, ctx.today, emit=lambda lv, m: events.append((lv, m)))
    read = await folder_source(tmp_path, helper).read(ctx)
    assert read.stats.get("helper_pages", 0) > 0, events  # the helper read it
    dupes = check_blocked(read, dataset, copied)
    assert "page-00037.json item 4" in dupes[copied[entity]].message


async def test_a_copied_id_over_http_blocks_both(small_dataset: Dataset) -> None:
    dataset, copied = with_copies(small_dataset)
    async with SS12000Sandbox(dataset) as sandbox:
        source = source_for(sandbox.info, page_size=PAGE)
        read = await source.read(context())
        await source.aclose()
    dupes = check_blocked(read, dataset, copied)
    assert "persons page 2 item 4" in dupes[copied["persons"]].message
    assert "persons page 1 item" in dupes[copied["persons"]].message


def test_a_refused_first_copy_still_blocks_the_second() -> None:
    """Whatever the copies hold (one broken, one fine; three of them; a plain JSON object
    among typed ones), the id is blocked as listed more than once."""
    from datetime import date

    from adapters.ss12000.mapping import Collector

    collector = Collector(date(2025, 9, 1))
    fine = {"id": "p1", "givenName": "A", "familyName": "B", "civicNo": {"value": "201001019876"}}
    collector.add_all("persons", [{"id": "p1", "givenName": "A"}, fine], "page-1.json")
    collector.add_all("persons", [{"id": "p2", "givenName": "C", "familyName": "D"}], "page-2.json")
    collector.add("persons", fine, "persons page 3 item 1")
    collector.add_all("persons", [{"id": "p3", "givenName": 7}, {"id": "p3"}], "page-4.json")
    result = collector.finish()
    assert set(result.snapshot.persons) == {"p2"}
    by_id = {f.record_id: f for f in result.findings}
    assert by_id["p1"].code == "ss12000.duplicate_id"
    assert "3 times (page-1.json item 1; page-1.json item 2; persons page 3 item 1)" in (
        by_id["p1"].message
    )
    assert "201001019876" not in by_id["p1"].message
    assert by_id["p3"].code == "ss12000.duplicate_id"
    assert "(page-4.json item 1; page-4.json item 2)" in by_id["p3"].message
