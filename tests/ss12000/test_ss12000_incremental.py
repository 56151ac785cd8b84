"""Incremental reads (meta.modified.after + /deletedEntities from the stored checkpoint) give
the same snapshot as a fresh full read, after the sandbox advances the municipality."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ss12000_helpers import AS_OF, MemoryCache, context, same_snapshot, source_for

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SandboxSettings, SS12000Sandbox
from engine.source import SourceError, SourceRead

PUPILS = 80


async def fresh_full_read(sandbox: SS12000Sandbox) -> SourceRead:
    source = source_for(sandbox.info)
    read = await source.read(context())
    await source.aclose()
    return read


async def advance_and_compare(seed: int, kinds: tuple[str, ...], profile: str) -> None:
    dataset = generate(PUPILS, seed, AS_OF)
    async with SS12000Sandbox(dataset, settings=SandboxSettings(profile=profile)) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        first = await source.read(context(cache))
        assert first.mode == "full"
        before = set(first.snapshot.persons)
        for kind in kinds:
            await asyncio.to_thread(sandbox.advance, kind)
            incremental = await source.read(context(cache))
            assert incremental.mode == "incremental"
            full = await fresh_full_read(sandbox)
            same_snapshot(incremental.snapshot, full.snapshot)
            assert sorted(incremental.findings, key=repr) == sorted(full.findings, key=repr)
            # the incremental read fetched only what changed
            assert 0 < incremental.stats["upserts"] < full.stats["upserts"]
        await source.aclose()
    gone = before - set(incremental.snapshot.persons)
    assert gone, "an advance removes some pupils; the incremental read must see that"
    assert len(cache.records["persons"]) == len(incremental.snapshot.persons)


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_incremental_after_a_term_equals_a_fresh_full_read(seed: int) -> None:
    asyncio.run(advance_and_compare(seed, ("term",), "generic"))


def test_incremental_over_a_year_and_a_term_on_edlevo() -> None:
    asyncio.run(advance_and_compare(11, ("year", "term"), "edlevo"))


async def test_full_read_on_demand_and_on_the_period(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info, full_read_days=7)
        cache = MemoryCache()
        assert (await source.read(context(cache))).mode == "full"
        assert (await source.read(context(cache))).mode == "incremental"
        assert (await source.read(context(cache), full=True)).mode == "full"
        cache.full_read_at = "2000-01-01T00:00:00Z"  # the last full read is long ago
        assert (await source.read(context(cache))).mode == "full"
        await source.aclose()


async def test_checkpoint_is_the_server_clock_at_the_start_minus_an_overlap(
    small_dataset: Dataset,
) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        async with httpx.AsyncClient() as http:
            server_date = (await http.post(sandbox.info.token_url)).headers["Date"]
        source = source_for(sandbox.info)
        cache = MemoryCache()
        await source.read(context(cache))
        await source.aclose()
    from email.utils import parsedate_to_datetime

    from adapters.ss12000.source import OVERLAP, _parse_time

    checkpoint = _parse_time(cache.checkpoint)
    assert checkpoint is not None
    started = parsedate_to_datetime(server_date)
    assert started - OVERLAP - checkpoint <= OVERLAP / 10  # seconds apart at most
    assert checkpoint <= started - OVERLAP + OVERLAP / 10


async def test_a_read_failing_part_way_keeps_the_stored_snapshot() -> None:
    dataset = generate(PUPILS, 3, AS_OF)
    async with SS12000Sandbox(dataset) as sandbox:
        source = source_for(sandbox.info, attempts=2)
        cache = MemoryCache()
        await source.read(context(cache))
        stored = (dict(cache.records["persons"]), cache.checkpoint, cache.saves)
        await asyncio.to_thread(sandbox.advance, "term")
        sandbox.settings.fault_rate = 1.0
        sandbox.settings.fault_kinds = ("5xx",)
        with pytest.raises(SourceError):
            await source.read(context(cache))
        assert (cache.records["persons"], cache.checkpoint, cache.saves) == stored
        sandbox.settings.fault_rate = 0.0
        recovered = await source.read(context(cache))
        full = await fresh_full_read(sandbox)
        await source.aclose()
    same_snapshot(recovered.snapshot, full.snapshot)
