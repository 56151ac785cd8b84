"""A record damaged once on its way is refused, held and asked for again on the next read:
incremental reads over real HTTP against the SS 12000 sandbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ss12000_helpers import MemoryCache, context, same_snapshot, source_for

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SS12000Sandbox
from adapters.ss12000.source import format_checkpoint
from engine.source import SourceRead


def blocking_ids(read: SourceRead) -> set[str]:
    return {f.record_id for f in read.findings if f.blocking}


async def test_a_record_damaged_once_is_read_again_and_its_finding_clears(
    small_dataset: Dataset,
) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        first = await source.read(context(cache))
        assert first.mode == "full" and not blocking_ids(first)
        good_copies = {e: dict(recs) for e, recs in cache.records.items()}

        # a term passes; this read's pages each come with one record damaged on the way
        await asyncio.to_thread(sandbox.advance, "term")
        sandbox.settings.fault_kinds = ("malformed",)
        sandbox.settings.fault_rate = 1.0
        damaged = await source.read(context(cache))
        sandbox.settings.fault_rate = 0.0
        assert damaged.mode == "incremental"
        refused = damaged.snapshot.refused
        assert refused.persons and refused.groups
        assert refused.persons <= blocking_ids(damaged)
        assert not refused.persons & set(damaged.snapshot.persons)
        # the cache keeps the last good copy of a refused person, never the damaged one
        for pid in refused.persons & set(good_copies["persons"]):
            assert cache.records["persons"][pid] == good_copies["persons"][pid]
        assert set(cache.records["refused:persons"]) == set(refused.persons)

        # the next run comes later, when nothing has changed since (its checkpoint lies past
        # the advance and the read overlap): it asks for the refused records again by id
        cache.checkpoint = format_checkpoint(datetime.now(UTC) + timedelta(seconds=1))
        healed = await source.read(context(cache))
        assert healed.mode == "incremental"
        assert not blocking_ids(healed)
        assert not healed.snapshot.refused
        assert refused.persons <= set(healed.snapshot.persons)
        assert not any(cache.records.get(f"refused:{e}") for e in ("persons", "groups"))
        await source.aclose()

        fresh = source_for(sandbox.info)
        full = await fresh.read(context())
        await fresh.aclose()
    same_snapshot(healed.snapshot, full.snapshot)


async def test_a_refused_record_gone_from_the_source_is_gone(small_dataset: Dataset) -> None:
    """Asked for again by id and not found (404): the record is gone, like a deletion."""
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        await source.read(context(cache))
        cache.records.setdefault("refused:persons", {})["no-such-person"] = b""
        read = await source.read(context(cache))
        await source.aclose()
    assert read.mode == "incremental"
    assert "no-such-person" not in read.snapshot.refused.persons
    assert not cache.records["refused:persons"]
