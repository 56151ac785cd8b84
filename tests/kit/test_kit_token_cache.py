"""The kit's token cache: a token is kept until its renewal time, fetched once however many
callers wait, and fetched anew once forgotten."""

from __future__ import annotations

import asyncio

import pytest

from adapters.kit.token_cache import TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_token_is_kept_until_its_renewal_time() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    fetched: list[int] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(1)
        return f"t{len(fetched)}", clock() + 10

    assert await cache.get(fetch) == "t1"
    clock.now += 9
    assert await cache.get(fetch) == "t1"
    clock.now += 1
    assert await cache.get(fetch) == "t2"
    assert cache.fetched == 2


async def test_callers_waiting_together_share_one_fetch() -> None:
    cache = TokenCache()
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "t", cache.clock() + 60

    assert await asyncio.gather(*(cache.get(fetch) for _ in range(5))) == ["t"] * 5
    assert calls == 1


async def test_a_forgotten_token_is_fetched_anew_and_a_failed_fetch_keeps_none() -> None:
    cache = TokenCache()
    tokens = iter(["a", "b"])

    async def fetch() -> tuple[str, float]:
        return next(tokens), cache.clock() + 60

    assert await cache.get(fetch) == "a"
    cache.forget()
    assert cache.current() is None
    assert await cache.get(fetch) == "b"

    async def refused() -> tuple[str, float]:
        raise PermissionError("refused")

    cache.forget()
    with pytest.raises(PermissionError):
        await cache.get(refused)
    assert cache.current() is None
