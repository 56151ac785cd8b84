"""The kit's HTTP client against a scripted server on loopback: what it sends again, and what
it never sends twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.retry import Backoff
from adapters.kit.scripted import Scripted, scripted_server


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    async with scripted_server() as s:
        yield s


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(sleeps: Sleeps, timeout_s: float = 5.0, attempts: int = 4) -> HttpClient:
    return HttpClient(
        timeout_s=timeout_s, backoff=Backoff(attempts=attempts, base_s=0.01, sleep=sleeps)
    )


async def test_a_read_is_sent_again_after_5xx_and_waits_as_retry_after_says(
    server: Scripted,
) -> None:
    server.answers = [(503, {"Retry-After": "7"}, 0.0), (502, {}, 0.0), (200, {}, 0.0)]
    sleeps = Sleeps()
    http = client(sleeps)
    resp = await http.request("GET", f"http://127.0.0.1:{server.port}/x", "x")
    await http.aclose()
    assert resp.status_code == 200
    assert len(server.seen) == 3
    assert sleeps.waits[0] == 7.0  # never sooner than the service said
    assert http.stats.retries == 2


async def test_a_create_answered_5xx_is_not_sent_again(server: Scripted) -> None:
    server.answers = [(503, {}, 0.0), (200, {}, 0.0)]
    http = client(Sleeps())
    resp = await http.request("POST", f"http://127.0.0.1:{server.port}/things", "create")
    await http.aclose()
    assert resp.status_code == 503  # handed back: it may have taken effect
    assert server.seen == ["POST /things HTTP/1.1"]


async def test_a_create_refused_429_is_sent_again_after_retry_after(server: Scripted) -> None:
    server.answers = [(429, {"Retry-After": "2"}, 0.0), (201, {}, 0.0)]
    sleeps = Sleeps()
    http = client(sleeps)
    resp = await http.request("POST", f"http://127.0.0.1:{server.port}/things", "create")
    await http.aclose()
    assert resp.status_code == 201
    assert len(server.seen) == 2 and sleeps.waits == [2.0]
    assert http.stats.throttled == 1


async def test_a_create_without_an_answer_is_in_doubt_and_not_sent_again(
    server: Scripted,
) -> None:
    server.answers = [(201, {}, 1.0)]
    http = client(Sleeps(), timeout_s=0.2)
    with pytest.raises(NoAnswer) as caught:
        await http.request("POST", f"http://127.0.0.1:{server.port}/things", "create")
    await http.aclose()
    assert caught.value.kind == "timeout" and caught.value.may_have_arrived
    assert len(server.seen) == 1


async def test_a_read_without_an_answer_is_asked_again(server: Scripted) -> None:
    server.answers = [(200, {}, 1.0), (200, {}, 0.0)]
    http = client(Sleeps(), timeout_s=0.2)
    resp = await http.request("GET", f"http://127.0.0.1:{server.port}/x", "x")
    await http.aclose()
    assert resp.status_code == 200 and len(server.seen) == 2


async def test_an_unreachable_service_is_tried_again_then_named() -> None:
    sleeps = Sleeps()
    http = client(sleeps, attempts=3)
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(NoAnswer) as caught:
        await http.request("POST", f"http://127.0.0.1:{port}/things", "create")
    await http.aclose()
    assert caught.value.kind == "unreachable" and not caught.value.may_have_arrived
    assert caught.value.attempts == 3 and len(sleeps.waits) == 2


class Tokens:
    def __init__(self) -> None:
        self.issued = 0

    async def header(self) -> str:
        return f"Bearer t{self.issued}"

    def invalidate(self) -> None:
        self.issued += 1


async def test_a_refused_token_is_renewed_once(server: Scripted) -> None:
    server.answers = [(401, {}, 0.0), (401, {}, 0.0), (401, {}, 0.0)]
    tokens = Tokens()
    http = client(Sleeps())
    resp = await http.request("POST", f"http://127.0.0.1:{server.port}/x", "x", auth=tokens)
    await http.aclose()
    assert resp.status_code == 401  # a second refusal is the caller's to explain
    assert server.auth == ["Bearer t0", "Bearer t1"]


async def test_requests_go_through_the_configured_proxy(server: Scripted) -> None:
    http = HttpClient(timeout_s=5.0, proxy=f"http://127.0.0.1:{server.port}")
    resp = await http.request("GET", "http://sis.example.invalid/v2.0/persons", "persons")
    await http.aclose()
    assert resp.status_code == 200
    assert server.seen == ["GET http://sis.example.invalid/v2.0/persons HTTP/1.1"]
