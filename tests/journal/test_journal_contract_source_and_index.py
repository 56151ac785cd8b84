"""The journal contract: the source's raw records (incremental reads) and the search index."""

from __future__ import annotations

import orjson
import pytest

from engine.journal import IndexHit, IndexRecord, Journal
from engine.source import SourceCache
from tests.journal.journal_support import TENANT


async def test_a_full_read_replaces_the_raw_records_and_stamps_the_time(journal: Journal) -> None:
    empty = await journal.load_source(TENANT)
    assert empty.records == {} and empty.checkpoint is None and empty.full_read_at is None
    await journal.save_source(
        TENANT,
        upserts={"persons": {"a": b"1", "b": b"2"}, "groups": {"g": b"{}"}},
        deletes={},
        checkpoint="c1",
        full=True,
    )
    first = await journal.load_source(TENANT)
    assert first.records == {"persons": {"a": b"1", "b": b"2"}, "groups": {"g": b"{}"}}
    assert first.checkpoint == "c1" and first.full_read_at is not None
    await journal.save_source(
        TENANT,
        upserts={"persons": {"b": b"2b", "c": b"3"}},
        deletes={"persons": ["a"], "groups": ["g"]},
        checkpoint="c2",
        full=False,
    )
    second = await journal.load_source(TENANT)
    assert second.records == {"persons": {"b": b"2b", "c": b"3"}}
    assert second.checkpoint == "c2" and second.full_read_at == first.full_read_at
    await journal.save_source(
        TENANT, upserts={"persons": {"z": b"9"}}, deletes={}, checkpoint="c3", full=True
    )
    assert (await journal.load_source(TENANT)).records == {"persons": {"z": b"9"}}
    assert (await journal.load_source("other")).records == {}


async def test_the_source_cache_saves_all_or_nothing(journal: Journal) -> None:
    cache = journal.source_cache(TENANT)
    assert isinstance(cache, SourceCache)
    await cache.save(
        upserts={"persons": {"a": b"1", "b": b"2"}}, deletes={}, checkpoint="c1", full=True
    )
    with pytest.raises(Exception):  # noqa: B017, PT011 - each store refuses it its own way
        await cache.save(
            upserts={"persons": {"c": b"3", "d": None}},  # type: ignore[dict-item]
            deletes={"persons": ["a"]},
            checkpoint="c2",
            full=False,
        )
    got = await cache.load()
    assert got.checkpoint == "c1" and got.records == {"persons": {"a": b"1", "b": b"2"}}


def _entry(
    kind: str, key: str, label: str, detail: str, body: object
) -> tuple[str, str, str, str, str, str | None]:
    search = f"{label} {key} {detail}".lower()
    return (kind, key, label, detail, search, orjson.dumps(body).decode() if body else None)


async def test_the_index_is_searched_by_text_or_key(journal: Journal) -> None:
    await journal.replace_index(
        TENANT,
        [
            _entry("person", "p1", "Åsa Berg", "student", {"givenName": "Åsa"}),
            _entry("person", "p2", "Bo 100%_Nilsson", "teacher", None),
            _entry("group", "g1", "7A", "class", {"name": "7A"}),
        ],
    )
    await journal.replace_index("other", [_entry("person", "p9", "Åsa Lind", "student", None)])
    hits = await journal.search_index("åsa", None, 10)
    assert all(isinstance(h, IndexHit) for h in hits)
    assert [(h.tenant, h.key) for h in hits] == [(TENANT, "p1"), ("other", "p9")]
    assert (hits[0].record_type, hits[0].label, hits[0].detail) == ("person", "Åsa Berg", "student")
    assert [h.key for h in await journal.search_index("ÅSA", TENANT, 10)] == ["p1"]
    assert [h.key for h in await journal.search_index("G1", TENANT, 10)] == ["g1"]
    assert [h.key for h in await journal.search_index("100%_", TENANT, 10)] == ["p2"]
    assert await journal.search_index("0%", TENANT, 10) != []
    assert await journal.search_index("a_b", TENANT, 10) == []  # "_" is no wildcard
    assert len(await journal.search_index("a", TENANT, 1)) == 1
    # the groups come before the persons, each by label
    assert [h.key for h in await journal.search_index("", TENANT, 10)] == ["g1", "p2", "p1"]


async def test_exact_matches_come_first(journal: Journal) -> None:
    await journal.replace_index(
        TENANT,
        [
            _entry("group", "g1", "1A Ma 9A-spår", "class", None),
            _entry("group", "g3", "3A", "class 9a", None),
            _entry("group", "g9", "9A", "class", None),
            _entry("group", "g9b", "9A", "class at Södra", None),
            _entry("group", "g5", "5B", "class", None),
            _entry("person", "p1", "Hugo Berg", "hugo.berg@demo.skola.se", None),
            _entry("person", "p2", "Hugo Bergström", "hugo.bergstrom@demo.skola.se", None),
        ],
    )
    hits = [h.key for h in await journal.search_index("9A", TENANT, 10)]
    assert hits[:2] == ["g9", "g9b"]  # both groups named 9A, before names that hold it
    assert set(hits[2:]) == {"g1", "g3"}
    assert [h.key for h in await journal.search_index("g5", TENANT, 10)] == ["g5"]
    hits = [h.key for h in await journal.search_index("hugo.berg@demo.skola.se", TENANT, 10)]
    assert hits == ["p1"]
    hits = [h.key for h in await journal.search_index("hugo berg", TENANT, 10)]
    assert hits == ["p1", "p2"]  # the whole name before a name it starts


async def test_an_index_record_carries_its_redacted_source_record(journal: Journal) -> None:
    await journal.replace_index(
        TENANT,
        [
            _entry("person", "p1", "Åsa Berg", "student", {"givenName": "Åsa", "roles": [1, 2]}),
            _entry("person", "p2", "Bo", "", None),
        ],
    )
    record = await journal.index_record(TENANT, "person", "p1")
    assert isinstance(record, IndexRecord)
    assert (record.tenant, record.record_type, record.key, record.label, record.detail) == (
        TENANT,
        "person",
        "p1",
        "Åsa Berg",
        "student",
    )
    assert record.body == {"givenName": "Åsa", "roles": [1, 2]}
    bare = await journal.index_record(TENANT, "person", "p2")
    assert bare is not None and bare.body is None
    assert await journal.index_record(TENANT, "group", "p1") is None
    # a new snapshot replaces the whole index
    await journal.replace_index(TENANT, [_entry("group", "g1", "7A", "class", None)])
    assert await journal.index_record(TENANT, "person", "p1") is None


async def test_masked_persons_are_those_whose_label_is_the_pseudonym(journal: Journal) -> None:
    await journal.replace_index(
        TENANT,
        [
            _entry("person", "p1", "Skyddad identitet (p1)", "student", None),
            _entry("person", "p2", "Bo Skyddad identitet", "teacher", None),
            _entry("group", "g1", "Skyddad identitet (g1)", "class", None),
        ],
    )
    await journal.replace_index(
        "other", [_entry("person", "p9", "Skyddad identitet (p9)", "", None)]
    )
    assert await journal.masked_persons(TENANT, "Skyddad identitet") == frozenset({"p1"})
    assert await journal.masked_persons("none", "Skyddad identitet") == frozenset()


async def test_one_cached_record_and_those_holding_a_text(journal: Journal) -> None:
    await journal.save_source(
        TENANT,
        upserts={
            "persons": {"p1": b'{"civicNo":{"value":"hmac-sha256:ab"}}', "p2": b'{"id":"p2"}'},
            "groups": {"g1": b'{"note":"hmac-sha256:ab"}'},
        },
        deletes={},
        checkpoint="c",
        full=True,
    )
    assert await journal.source_record(TENANT, "persons", "p2") == b'{"id":"p2"}'
    assert await journal.source_record(TENANT, "persons", "nobody") is None
    assert await journal.source_records_holding(TENANT, "persons", "hmac-sha256:ab") == ["p1"]
    assert await journal.source_records_holding("other", "persons", "hmac-sha256:ab") == []


async def test_records_holding_a_text_in_the_cache_of_each_of_several_sources(
    journal: Journal,
) -> None:
    """A personnummer looked up in a tenant with two sources: found in either source's cache
    (``TENANT/KEY``), as the one person the last merge made of the two records."""
    body = b'{"civicNo":{"value":"hmac-sha256:ab"}}'
    for key, pid in (("gy", "p1"), ("grund", "g-1")):
        await journal.save_source(
            f"{TENANT}/{key}",
            upserts={"persons": {pid: body}},
            deletes={},
            checkpoint="c",
            full=True,
        )
    await journal.save_source(
        "other/gy", upserts={"persons": {"o1": body}}, deletes={}, checkpoint="c", full=True
    )
    holding = journal.source_records_holding
    assert await holding(TENANT, "persons", "hmac-sha256:ab") == ["g-1", "p1"]
    await journal.replace_source_aliases(TENANT, {("grund", "g-1"): "p1"})
    assert await holding(TENANT, "persons", "hmac-sha256:ab") == ["p1"]
    assert await holding(TENANT, "persons", "hmac-sha256:cd") == []


async def test_one_cached_record_in_the_cache_of_one_of_several_sources(journal: Journal) -> None:
    """A person's cached record in a tenant with two sources: in either source's cache, under
    the person's id or under the id the source gave them."""
    for key, pid in (("grund", "g-1"), ("gy", "g-2")):
        await journal.save_source(
            f"{TENANT}/{key}",
            upserts={"persons": {pid: key.encode()}},
            deletes={},
            checkpoint="c",
            full=True,
        )
    assert await journal.source_record(TENANT, "persons", "g-2") == b"gy"
    assert await journal.source_record(TENANT, "persons", "p1") is None
    # the last merge made p1 of grund's g-1; gy's record of another id g-1 is not theirs
    await journal.replace_source_aliases(TENANT, {("grund", "g-1"): "p1"})
    assert await journal.source_record(TENANT, "persons", "p1") == b"grund"
    await journal.replace_source_aliases(TENANT, {("gy", "g-1"): "p1"})
    assert await journal.source_record(TENANT, "persons", "p1") is None
    assert await journal.source_record("other", "persons", "g-2") is None


async def test_the_caches_of_sources_no_longer_configured_are_dropped(journal: Journal) -> None:
    for scope in (TENANT, f"{TENANT}/grund", f"{TENANT}/gy", "other/gy", f"{TENANT}-x/gy"):
        await journal.save_source(
            scope,
            upserts={"persons": {"p1": b"{}", "p2": b"{}"}},
            deletes={},
            checkpoint="c",
            full=True,
        )
    assert await journal.drop_source_caches(TENANT, [f"{TENANT}/grund"]) == 4
    assert (await journal.load_source(f"{TENANT}/grund")).records["persons"].keys() == {"p1", "p2"}
    for gone in (TENANT, f"{TENANT}/gy"):
        left = await journal.load_source(gone)
        assert left.records == {} and left.checkpoint is None
    for other in ("other/gy", f"{TENANT}-x/gy"):  # another tenant's, whatever its id
        assert (await journal.load_source(other)).checkpoint == "c"
    assert await journal.drop_source_caches(TENANT, []) == 2
