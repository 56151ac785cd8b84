"""The time scale: one factor on every published window, Retry-After and delay."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx
import pytest
from kit_support import Counter, CounterSettings, served

from adapters.kit.sandbox import Limit, Limiter
from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings


def test_a_scaled_window_sends_a_scaled_retry_after_and_frees_in_scaled_time() -> None:
    counter = Counter(CounterSettings(limit=1, window_s=100, time_scale=0.005))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        assert http.post("/count").status_code == 200
        refused = http.post("/count")
        assert refused.status_code == 429
        retry_after = float(refused.headers["Retry-After"])
        # up to 100 published seconds x 0.005, in steps of one published second
        assert 0.25 <= retry_after <= 0.5
        assert round(retry_after / 0.005, 6).is_integer()
        time.sleep(retry_after + 0.05)
        assert http.post("/count").status_code == 200


def test_latency_and_the_timeout_hang_are_scaled() -> None:
    counter = Counter(CounterSettings(latency_ms=4000, time_scale=0.05))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        started = time.perf_counter()
        http.post("/count")
        delayed = time.perf_counter() - started
        http.post(
            "/_sandbox/settings",
            json={
                "latency_ms": 0,
                "fault_rate": 1,
                "fault_kinds": ["timeout"],
                "timeout_hang_s": 20,
            },
        )
        started = time.perf_counter()
        hung = http.post("/count", timeout=10)
        hang = time.perf_counter() - started
    assert 0.2 <= delayed < 2.0  # 4 s x 0.05
    assert hung.status_code == 504
    assert 1.0 <= hang < 5.0  # 20 s x 0.05


def test_retry_after_is_whole_published_seconds_times_the_scale() -> None:
    limiter: Limiter[str] = Limiter()
    limit = Limit(1, 150 * 0.01)
    assert limiter.check("k", limit, 10.0, 10.0, scale=0.01) is None
    refused = limiter.check("k", limit, 10.2, 10.2, scale=0.01)
    assert refused is not None
    assert refused.header == "1.3"  # 130 published seconds remain (rounded up), x 0.01
    unscaled: Limiter[str] = Limiter()
    assert unscaled.check("k", Limit(1, 150), 0.0, 0.0) is None
    again = unscaled.check("k", Limit(1, 150), 20.5, 20.5)
    assert again is not None
    assert again.header == "130"


def test_a_rate_becomes_a_scaled_window() -> None:
    assert Limit.per_second(10, 1.0) == Limit(10, 1.0)
    assert Limit.per_second(0.5, 0.1) == Limit(1, pytest.approx(0.2))
    assert Limit.per_second(0, 1.0) is None


def _user(n: int) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "displayName": f"T {n}",
        "mailNickname": f"t{n}",
        "userPrincipalName": f"t{n}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
    }


def test_the_microsoft_sandbox_scales_graph_windows_and_propagation() -> None:
    settings = SandboxSettings(
        directory_write_limit=1,
        directory_write_window_s=150,
        propagation_delay_s=600,
        time_scale=0.002,  # 150 s -> 0.3 s, 600 s -> 1.2 s
    )
    with MicrosoftSandbox(settings=settings) as sandbox:
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
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=info.graph_url + "/", verify=tls, headers=headers) as graph:
            created = graph.post("users", json=_user(1))
            assert created.status_code == 201
            throttled = graph.post("users", json=_user(2))
            assert throttled.status_code == 429
            assert float(throttled.headers["Retry-After"]) <= 0.3
            assert graph.get(f"users/{created.json()['id']}").status_code == 404  # propagating
            time.sleep(1.25)
            assert graph.get(f"users/{created.json()['id']}").status_code == 200
            assert graph.post("users", json=_user(3)).status_code == 201
