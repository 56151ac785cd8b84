"""The kit's sandbox reports (info as one JSON line, status counts, shared counters) and the
configured sandbox (host, port, settings that may be replaced while it runs, binding)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from kit_support import Counter, counter_app

from adapters.kit.sandbox import ConfiguredSandbox, KitSettings, make_tls
from adapters.kit.sandbox.reports import JsonLineInfo, KitCounters, StatusCounts


@dataclass(frozen=True)
class _Info(JsonLineInfo):
    url: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Stats(StatusCounts):
    requests: int
    by_status: dict[int, int]


def test_info_is_one_json_line_and_stats_key_statuses_as_strings_in_order() -> None:
    assert json.loads(_Info("https://x", ("a",)).to_json()) == {"url": "https://x", "names": ["a"]}
    assert _Stats(2, {500: 1, 200: 3}).to_dict() == {
        "requests": 2,
        "by_status": {"200": 3, "500": 1},
    }


def test_counters_count_each_status() -> None:
    counters = KitCounters()
    for status in (200, 429, 200):
        counters.count_status(status)
    assert counters.by_status == {200: 2, 429: 1}
    assert counters.throttled == 0  # what counts as throttled is the sandbox's own choice


@dataclass(frozen=True)
class _CounterStats(StatusCounts):
    batch_requests: int
    throttled: int
    early_retries: int
    faults_injected: int
    by_status: dict[int, int]


def test_a_snapshot_is_a_copy_as_the_stats_type() -> None:
    counters = KitCounters(throttled=2)
    counters.count_status(429)
    stats = counters.snapshot(_CounterStats)
    counters.count_status(429)
    assert stats == _CounterStats(0, 2, 0, 0, {429: 1})


@dataclass
class _Settings(KitSettings):
    pages: int = 3


class _Sandbox(ConfiguredSandbox[str, _Settings]):
    settings_type = _Settings
    workdir_prefix = "ess-kit-test-"

    def _configure(self) -> None:
        self.changes: list[_Settings] = []

    def _settings_changed(self, value: _Settings) -> None:
        self.changes.append(value)

    def start(self) -> str:
        tls = make_tls(self._workdir.path, (self.host,), "ESS kit test")
        server, base = self._bind(tls, "kit-test")
        self._or_stop(lambda: server.start(counter_app(Counter())))
        self._info = base
        return base


def test_configured_sandbox_defaults_settings_and_tells_of_a_replacement() -> None:
    sandbox = _Sandbox()
    assert (sandbox.host, sandbox.port, sandbox.settings.pages) == ("127.0.0.1", 0, 3)
    new = _Settings(pages=5)
    sandbox.settings = new
    assert sandbox.settings is new and sandbox.changes == [new]
    assert _Sandbox(settings=new).settings is new


def test_configured_sandbox_binds_a_chosen_port_and_stop_frees_it() -> None:
    with _Sandbox() as sandbox:
        base = sandbox.info
        assert base.startswith("https://127.0.0.1:") and not base.endswith(":0")
    try:
        httpx.get(base, timeout=2, verify=False)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the port still answers after stop")
