"""Throttling, early retries, propagation delay, latency, injected faults and the inspection
endpoints."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import httpx
import pytest

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxInfo, SandboxSettings


def user_body(n: int) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "displayName": f"L {n}",
        "mailNickname": f"l{n}",
        "userPrincipalName": f"l{n}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
    }


async def test_directory_writes_throttle_with_retry_after_and_early_retries(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.directory_write_limit = 3
    sandbox.settings.directory_write_window_s = 120
    for n in range(3):
        assert (await graph.post("users", json=user_body(n))).status_code == 201
    throttled = await graph.post("users", json=user_body(3))
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["Retry-After"])
    assert 1 <= retry_after <= 120
    assert throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert (await graph.get("users")).status_code == 200  # reads are not write-throttled
    early = await graph.post("users", json=user_body(4))
    assert early.status_code == 429
    stats = sandbox.stats()
    assert stats.throttled == 2
    assert stats.early_retries == 1
    assert stats.write_requests == 5
    assert len(sandbox.state()["users"]) == 3


async def test_team_creation_rate(graph: httpx.AsyncClient, sandbox: MicrosoftSandbox) -> None:
    sandbox.settings.team_create_per_second = 0.01  # one per 100 s
    first = await graph.post("teams", json={"template@odata.bind": "x"})
    assert first.status_code == 400  # admitted (and refused for its body)
    second = await graph.post("teams", json={"template@odata.bind": "x"})
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1


async def test_propagation_delay_hides_new_objects(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox, make_user: Any, make_class: Any
) -> None:
    owner = await make_user()
    sandbox.settings.propagation_delay_s = 600
    user = await make_user()
    klass = await make_class()
    missing = await graph.get(f"users/{user['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    listed = await graph.get("users", params={"$filter": f"id eq '{user['id']}'"})
    assert listed.json()["value"] == []
    ref_add = await graph.post(
        f"education/classes/{klass['id']}/members/$ref",
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{owner['id']}"},
    )
    assert ref_add.status_code == 404
    assert klass["id"] in ref_add.json()["error"]["message"]
    team = await graph.post(
        "teams",
        json={
            "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('educationClass')",
            "group@odata.bind": f"https://graph.microsoft.com/v1.0/groups('{klass['id']}')",
        },
    )
    assert team.status_code == 404


async def test_injected_5xx_and_applied_then_5xx(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.fault_rate = 1.0
    sandbox.settings.fault_kinds = ("5xx",)
    failed = await graph.post("users", json=user_body(1))
    assert failed.status_code in (500, 502, 503, 504)
    assert set(failed.json()["error"]) == {"code", "message", "innerError"}
    sandbox.settings.fault_kinds = ("applied_5xx",)
    applied = await graph.post("users", json=user_body(2))
    assert applied.status_code in (500, 502, 503, 504)
    sandbox.settings.fault_rate = 0.0
    upns = {u["userPrincipalName"] for u in sandbox.state()["users"]}
    assert upns == {"l2@skola.example"}  # the first was not applied, the second was
    found = await graph.get("users", params={"$filter": "userPrincipalName eq 'l2@skola.example'"})
    assert len(found.json()["value"]) == 1
    assert sandbox.stats().faults_injected == 2


async def test_timeout_fault_outlasts_the_client(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.fault_rate = 1.0
    sandbox.settings.fault_kinds = ("timeout",)
    sandbox.settings.timeout_hang_s = 2.0
    with pytest.raises(httpx.ReadTimeout):
        await graph.get("users", timeout=0.2)


async def test_latency_is_added(graph: httpx.AsyncClient, sandbox: MicrosoftSandbox) -> None:
    sandbox.settings.latency_ms = 300
    started = time.perf_counter()
    await graph.get("users")
    assert time.perf_counter() - started >= 0.3  # a lower bound, never flaky


def test_faults_repeat_with_the_same_seed(sandbox: MicrosoftSandbox) -> None:
    def run(seed: int) -> list[int]:
        sandbox.reset(SandboxSettings(seed=seed, fault_rate=0.5, fault_kinds=("5xx",)))
        info = sandbox.info
        tls = ssl.create_default_context(cafile=info.ca_path)
        token = httpx.post(
            f"{info.authority}/oauth2/v2.0/token",
            verify=tls,
            data={
                "grant_type": "client_credentials",
                "client_id": info.client_id,
                "client_secret": info.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        with httpx.Client(verify=tls, headers={"Authorization": f"Bearer {token}"}) as client:
            return [client.get(f"{info.graph_url}/users").status_code for _ in range(12)]

    first, second = run(7), run(7)
    assert first == second
    assert 200 in first
    assert any(s >= 500 for s in first)


async def test_inspection_endpoints_need_no_token(
    info: SandboxInfo, tls: ssl.SSLContext, graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    await graph.post("users", json=user_body(1))
    async with httpx.AsyncClient(verify=tls) as plain:
        state = (await plain.get(f"{info.inspect_url}/state")).json()
        assert state["tenant_id"] == info.tenant_id
        assert [u["userPrincipalName"] for u in state["users"]] == ["l1@skola.example"]
        stats = (await plain.get(f"{info.inspect_url}/stats")).json()
        assert stats["write_requests"] == 1
        assert stats["by_status"]["201"] == 1
        changed = await plain.post(f"{info.inspect_url}/settings", json={"latency_ms": 5})
        assert changed.json()["latency_ms"] == 5
        assert sandbox.settings.latency_ms == 5
        bad = await plain.post(f"{info.inspect_url}/settings", json={"no_such": 1})
        assert bad.status_code == 400
        assert "no_such" in bad.json()["error"]
        negative = await plain.post(f"{info.inspect_url}/settings", json={"fault_rate": 2})
        assert negative.status_code == 400
        assert (await plain.post(f"{info.inspect_url}/stats/reset")).status_code == 204
    assert sandbox.stats().requests == 0


async def test_requests_in_flight_at_the_429_are_not_early_retries(
    graph: httpx.AsyncClient, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.directory_write_limit = 1
    sandbox.settings.directory_write_window_s = 120
    assert (await graph.post("users", json=user_body(0))).status_code == 201
    # Both arrive together and wait out the injected latency before either is answered, so
    # neither could have seen the other's 429.
    sandbox.settings.latency_ms = 500
    first, second = await asyncio.gather(
        graph.post("users", json=user_body(1)), graph.post("users", json=user_body(2))
    )
    assert (first.status_code, second.status_code) == (429, 429)
    assert sandbox.stats().early_retries == 0
    sandbox.settings.latency_ms = 0
    assert (await graph.post("users", json=user_body(3))).status_code == 429
    assert sandbox.stats().early_retries == 1
