"""The client against the sandbox over HTTP on loopback: auth, paging, token renewal,
throttling and retries."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from ss12000_helpers import MemoryCache, context, fast_retry, same_snapshot, source_for

from adapters.kit.retry import Backoff
from adapters.ss12000.auth import TokenSource
from adapters.ss12000.client import SS12000Client
from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SandboxSettings, SS12000Sandbox
from adapters.ss12000.transport import Http
from engine.secrets import Secret
from engine.source import SourceError


async def test_full_read_pages_through_every_listing(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info, page_size=40)
        cache = MemoryCache()
        read = await source.read(context(cache))
        await source.aclose()
    counts = small_dataset.counts()
    for entity in ("organisations", "persons", "duties", "groups", "activities"):
        assert read.stats[entity] == counts[entity]
        assert len(cache.records[entity]) == counts[entity]
    expected_pages = sum(
        max(1, math.ceil(counts[e] / 40))
        for e in ("organisations", "persons", "duties", "groups", "activities")
    )
    assert sandbox.stats()["pages"] == expected_pages
    assert sandbox.stats()["tokens_issued"] == 1
    assert read.mode == "full"
    assert read.findings == ()
    assert cache.saves == 1


async def test_bad_credentials_are_refused_with_a_clear_error(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        info = sandbox.info
        source = source_for(info)
        source._secret = Secret("env:X", "not-the-secret")
        cache = MemoryCache()
        with pytest.raises(SourceError) as err:
            await source.read(context(cache))
        await source.aclose()
    text = str(err.value)
    assert "401" in text
    assert "invalid_client" in text
    assert "client_id" in text
    assert "not-the-secret" not in text
    assert cache.saves == 0


async def test_a_filter_with_a_page_token_is_refused_per_spec(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        info = sandbox.info
        async with httpx.AsyncClient() as http:
            token = (
                await http.post(
                    info.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": info.client_id,
                        "client_secret": info.client_secret,
                    },
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            first = await http.get(f"{info.base_url}/persons?limit=5", headers=auth)
            page_token = first.json()["pageToken"]
            assert page_token
            mixed = await http.get(
                f"{info.base_url}/persons",
                params={"pageToken": page_token, "meta.modified.after": "2020-01-01T00:00:00Z"},
                headers=auth,
            )
            assert mixed.status_code == 400
            assert set(mixed.json()) == {"code", "message"}
            unauth = await http.get(f"{info.base_url}/persons")
            assert unauth.status_code == 401


async def test_token_is_renewed_before_it_expires(small_dataset: Dataset) -> None:
    now = [0.0]
    async with SS12000Sandbox(small_dataset) as sandbox:
        info = sandbox.info
        http = Http(timeout_s=10, policy=fast_retry())
        auth = TokenSource(
            http,
            info.token_url,
            info.client_id,
            Secret("env:X", info.client_secret),
            clock=lambda: now[0],
        )
        client = SS12000Client(http, info.base_url, auth, page_size=1000)
        first = await auth.header()
        now[0] = 3600 - 61  # more than a minute left: the token is kept
        assert await auth.header() == first
        now[0] = 3600 - 59  # within the last minute: renewed before it runs out
        second = await auth.header()
        assert second != first
        pages = [p async for p in client.pages("organisations")]
        await client.aclose()
    assert sandbox.stats()["tokens_issued"] == 2
    assert sum(len(p.records) for p in pages) == small_dataset.counts()["organisations"]


async def test_a_revoked_token_is_replaced_once(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        first = await source.read(context())
        sandbox.revoke_tokens()
        second = await source.read(context())
        await source.aclose()
    same_snapshot(first.snapshot, second.snapshot)
    assert sandbox.stats()["tokens_issued"] == 2
    assert sandbox.stats()["unauthorized"] == 1


async def test_throttling_is_waited_out_with_retry_after(small_dataset: Dataset) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    settings = SandboxSettings(requests_per_second=1)  # the token request uses the only slot
    async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
        info = sandbox.info
        http = Http(timeout_s=10, policy=Backoff(attempts=4, base_s=0.001, sleep=sleep))
        auth = TokenSource(
            http, info.token_url, info.client_id, Secret("env:X", info.client_secret)
        )
        client = SS12000Client(http, info.base_url, auth, page_size=1000)
        pages = [p async for p in client.pages("organisations")]
        await client.aclose()
    assert sandbox.stats()["throttled"] >= 1
    assert http.throttled == sandbox.stats()["throttled"]
    assert waits
    assert all(w == 1.0 for w in waits)
    assert sum(len(p.records) for p in pages) == small_dataset.counts()["organisations"]


async def test_server_errors_are_retried_and_the_read_completes(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset) as clean:
        expected = await (source := source_for(clean.info)).read(context())
        await source.aclose()
    settings = SandboxSettings(fault_rate=0.3, fault_kinds=("5xx", "html", "truncated"), seed=3)
    async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
        source = source_for(sandbox.info, attempts=10)
        read = await source.read(context())
        await source.aclose()
    assert sandbox.stats()["faults"] > 0
    same_snapshot(read.snapshot, expected.snapshot)
    assert read.findings == ()


async def test_retries_are_bounded_and_nothing_is_saved(small_dataset: Dataset) -> None:
    settings = SandboxSettings(fault_rate=1.0, fault_kinds=("5xx",))
    async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
        source = source_for(sandbox.info, attempts=3)
        cache = MemoryCache()
        with pytest.raises(SourceError) as err:
            await source.read(context(cache))
        await source.aclose()
    assert "organisations page 1" in str(err.value)
    assert "3 times" in str(err.value)
    assert cache.saves == 0
    assert cache.checkpoint is None
    assert sandbox.stats()["pages"] == 3
