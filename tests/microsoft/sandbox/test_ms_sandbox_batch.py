"""$batch: at most 20, dependsOn with 424, per-request throttling with inner Retry-After."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox


def new_user(n: int) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "displayName": f"B {n}",
        "mailNickname": f"b{n}",
        "userPrincipalName": f"b{n}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
    }


def post(rid: str, url: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "method": "POST",
        "url": url,
        "body": body,
        "headers": {"Content-Type": "application/json"},
        **extra,
    }


async def test_batch_depends_on_and_failed_dependency(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    group = {
        "displayName": "G",
        "mailNickname": "dup",
        "mailEnabled": False,
        "securityEnabled": True,
    }
    await graph.post("groups", json=group)
    requests = [
        post("1", "/users", new_user(1)),
        post("2", "/groups", group),  # mailNickname collision -> 400
        post("3", "/users", new_user(3), dependsOn=["2"]),
        post("4", "/users", new_user(4), dependsOn=["1"]),
        {"id": "5", "method": "GET", "url": "/users?$select=id,userPrincipalName"},
    ]
    sandbox.reset_stats()
    response = await graph.post("$batch", json={"requests": requests})
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert {k: v["status"] for k, v in by_id.items()} == {
        "1": 201,
        "2": 400,
        "3": 424,
        "4": 201,
        "5": 200,
    }
    assert by_id["3"]["body"]["error"]["code"]
    assert "value" in by_id["5"]["body"]
    upns = {u["userPrincipalName"] for u in sandbox.state()["users"]}
    assert upns == {"b1@skola.example", "b4@skola.example"}
    stats = sandbox.stats()
    assert stats.batch_requests == 1
    assert stats.requests == 6  # the envelope and its five requests
    assert stats.write_requests == 4  # inner POSTs only, the envelope is not a write
    assert stats.by_status[424] == 1


async def test_batch_limits_and_malformed(graph: httpx.AsyncClient) -> None:
    many = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    assert (await graph.post("$batch", json={"requests": many})).status_code == 400
    twins = [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "A", "method": "GET", "url": "/users"},
    ]
    assert (await graph.post("$batch", json={"requests": twins})).status_code == 400
    dangling = [{"id": "a", "method": "GET", "url": "/users", "dependsOn": ["zz"]}]
    assert (await graph.post("$batch", json={"requests": dangling})).status_code == 400
    no_type = [{"id": "a", "method": "POST", "url": "/users", "body": new_user(9)}]
    inner = (await graph.post("$batch", json={"requests": no_type})).json()["responses"][0]
    assert inner["status"] == 400


async def test_inner_requests_are_throttled_one_by_one(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.directory_write_limit = 2
    sandbox.settings.directory_write_window_s = 60
    requests = [post(str(n), "/users", new_user(n)) for n in range(4)]
    response = await graph.post("$batch", json={"requests": requests})
    statuses = sorted(r["status"] for r in response.json()["responses"])
    assert statuses == [201, 201, 429, 429]
    throttled = [r for r in response.json()["responses"] if r["status"] == 429]
    for inner in throttled:
        assert 1 <= int(inner["headers"]["Retry-After"]) <= 60
        assert inner["body"]["error"]["code"] == "TooManyRequests"
    stats = sandbox.stats()
    assert stats.throttled == 2
    # The fourth came while the third's Retry-After ran, but in the same envelope: the client
    # could not have known, so it is throttled without counting as an early retry.
    assert stats.early_retries == 0
    after = await graph.post("users", json=new_user(9))  # sent after reading the 429s
    assert after.status_code == 429
    assert sandbox.stats().early_retries == 1
