"""Graph's client on the kit's HTTP client, against a scripted server on loopback: Graph's
rule of what is sent again (only reads, a fresh token after a 401, and a 429), pacing by the
kit's pacer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.kit.http import HttpClient
from adapters.kit.pacing import Pacer
from adapters.kit.scripted import Scripted, scripted_server
from adapters.microsoft.client import GraphClient


class Tokens:
    """Numbered tokens; ``invalidate`` makes the next one new."""

    def __init__(self) -> None:
        self.minted = 0
        self.dropped = 0

    async def token(self) -> str:
        if self.minted == self.dropped:
            self.minted += 1
        return f"token-{self.minted}"

    def invalidate(self) -> None:
        self.dropped = self.minted


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    async with scripted_server() as s:
        yield s


def graph(server: Scripted, tokens: Tokens | None = None) -> GraphClient:
    return GraphClient(f"http://127.0.0.1:{server.port}/v1.0", tokens or Tokens(), timeout_s=5.0)


async def test_graph_sends_through_the_kit_client_and_paces_with_the_kit_pacer(
    server: Scripted,
) -> None:
    client = graph(server)
    assert isinstance(client.http, HttpClient)
    assert isinstance(client.writes, Pacer) and isinstance(client.team_creates, Pacer)
    resp = await client.send("POST", "users", json={"displayName": "A"})
    await client.aclose()
    assert resp.status == 200
    assert client.write_units == 1 and client.writes.used() == 1
    assert server.auth == ["Bearer token-1"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
async def test_a_write_answered_503_is_not_sent_again_by_the_client(
    server: Scripted, method: str
) -> None:
    server.answers = [(503, {}, 0.0), (201, {}, 0.0)]
    client = graph(server)
    resp = await client.send(method, "users/x", json={"displayName": "A"})
    await client.aclose()
    assert resp.status == 503  # handed back: it may have taken effect, the executor decides
    assert server.seen == [f"{method} /v1.0/users/x HTTP/1.1"]


async def test_a_read_answered_503_is_sent_again(server: Scripted) -> None:
    server.answers = [(503, {"Retry-After": "0"}, 0.0), (200, {}, 0.0)]
    client = graph(server)
    resp = await client.send("GET", "users")
    await client.aclose()
    assert resp.status == 200
    assert len(server.seen) == 2


async def test_a_write_refused_429_holds_the_writes_and_is_sent_again(server: Scripted) -> None:
    server.answers = [(429, {"Retry-After": "0"}, 0.0), (201, {}, 0.0)]
    client = graph(server)
    resp = await client.send("POST", "users", json={})
    await client.aclose()
    assert resp.status == 201
    assert len(server.seen) == 2 and client.stats.throttled == 1


async def test_a_refused_token_is_renewed_once(server: Scripted) -> None:
    server.answers = [(401, {}, 0.0), (401, {}, 0.0)]
    tokens = Tokens()
    client = graph(server, tokens)
    resp = await client.send("GET", "users")
    await client.aclose()
    assert resp.status == 401  # a second refusal is the tenant's problem, not a stale token
    assert server.auth == ["Bearer token-1", "Bearer token-2"]
