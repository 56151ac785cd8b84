"""The kit's middleware over real HTTP on loopback: injected faults, throttling, latency."""

from __future__ import annotations

import time

import httpx
import pytest
from kit_support import Counter, CounterSettings, served
from starlette.responses import Response

from adapters.kit.sandbox import FAULT_STATUSES, FaultAction


def test_a_refused_5xx_never_reaches_the_service() -> None:
    counter = Counter(CounterSettings(fault_rate=1.0, fault_kinds=("5xx",)))
    with served(counter) as (base, chaos), httpx.Client(base_url=base) as http:
        answers = [http.post("/count").status_code for _ in range(4)]
    assert all(status in FAULT_STATUSES for status in answers)
    assert counter.applied == 0
    assert chaos.counters.faults == 4


def test_applied_then_5xx_did_the_work_and_still_failed() -> None:
    counter = Counter(CounterSettings(fault_rate=1.0, fault_kinds=("applied_5xx",)))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        answers = [http.post("/count").status_code for _ in range(3)]
    assert all(status in FAULT_STATUSES for status in answers)
    assert counter.applied == 3


def test_a_timeout_fault_hangs_past_the_client_and_then_answers_504() -> None:
    counter = Counter(CounterSettings(fault_rate=1.0, fault_kinds=("timeout",), timeout_hang_s=1))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/count", timeout=0.2)
        started = time.perf_counter()
        late = http.post("/count", timeout=5)
        assert time.perf_counter() - started >= 1.0
    assert late.status_code == 504
    assert counter.applied == 0


def test_a_rewrite_replaces_a_successful_answer() -> None:
    def html(body: bytes) -> Response:
        return Response(b"<html>down</html>", 200, media_type="text/html")

    counter = Counter(CounterSettings(fault_rate=1.0, fault_kinds=("html",)))
    with served(counter, {"html": FaultAction("rewrite", html)}) as (base, _):
        answer = httpx.post(f"{base}/count")
    assert answer.text == "<html>down</html>"
    assert answer.headers["content-type"].startswith("text/html")
    assert counter.applied == 1


def test_the_same_seed_repeats_the_same_faults() -> None:
    def run(seed: int) -> list[int]:
        counter = Counter(CounterSettings(fault_rate=0.5, fault_kinds=("5xx",), seed=seed))
        with served(counter) as (base, _), httpx.Client(base_url=base) as http:
            return [http.post("/count").status_code for _ in range(16)]

    first, second = run(11), run(11)
    assert first == second
    assert 200 in first
    assert any(status >= 500 for status in first)
    assert run(12) != first


def test_throttling_answers_429_with_retry_after_and_repeats_it_to_an_early_client() -> None:
    counter = Counter(CounterSettings(limit=2, window_s=60))
    with served(counter) as (base, chaos), httpx.Client(base_url=base) as http:
        assert [http.post("/count").status_code for _ in range(2)] == [200, 200]
        refused = http.post("/count")
        early = http.post("/count")
        settings = http.get("/_sandbox/settings")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert early.status_code == 429
    assert 1 <= int(early.headers["Retry-After"]) <= 60
    assert settings.status_code == 200  # the inspection endpoints are never throttled
    assert counter.applied == 2
    assert chaos.counters.throttled == 2


def test_a_slot_frees_when_the_window_has_passed() -> None:
    counter = Counter(CounterSettings(limit=1, window_s=1))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        assert http.post("/count").status_code == 200
        refused = http.post("/count")
        assert refused.status_code == 429
        time.sleep(float(refused.headers["Retry-After"]) + 0.05)
        assert http.post("/count").status_code == 200


def test_latency_is_added_to_every_request_but_inspection() -> None:
    counter = Counter(CounterSettings(latency_ms=1000))
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        started = time.perf_counter()
        http.post("/count")
        delayed = time.perf_counter() - started
        started = time.perf_counter()
        http.get("/_sandbox/settings")
        direct = time.perf_counter() - started
    assert delayed >= 1.0
    assert direct < 1.0


def test_settings_changed_over_http_take_effect_on_the_next_request() -> None:
    counter = Counter()
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        assert http.post("/count").status_code == 200
        changed = http.post("/_sandbox/settings", json={"fault_rate": 1.0, "fault_kinds": ["5xx"]})
        assert changed.json()["fault_rate"] == 1.0
        assert http.post("/count").status_code in FAULT_STATUSES
    assert counter.applied == 1
