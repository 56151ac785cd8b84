"""The kit's part of ``ess sandbox NAME``: settings from the options and the extras, and
serving announced as JSON or as a banner until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass

import pytest

from adapters.kit.sandbox import KitSettings, Sandbox, SettingsError
from adapters.kit.sandbox.command import serve_announced, settings_from_options
from engine.plugins import SandboxOptions


@dataclass
class _Settings(KitSettings):
    pages: int = 3


@dataclass
class _Info:
    url: str

    def to_json(self) -> str:
        return json.dumps({"url": self.url})


class _Fake(Sandbox[_Info]):
    def __init__(self) -> None:
        self.stopped = False

    def start(self) -> _Info:
        self._info = _Info("https://127.0.0.1:1")
        return self._info

    def stop(self) -> None:
        self.stopped = True
        self._info = None


def test_settings_take_the_common_options_then_the_extras() -> None:
    options = SandboxOptions(latency_ms=5, fault_rate=0.25, seed=7, extra={"pages": "9"})
    settings = settings_from_options(_Settings, options)
    assert (settings.latency_ms, settings.fault_rate, settings.seed) == (5, 0.25, 7)
    assert settings.pages == 9


def test_an_unknown_or_bad_extra_is_refused() -> None:
    with pytest.raises(SettingsError):
        settings_from_options(_Settings, SandboxOptions(extra={"no_such": "1"}))
    with pytest.raises(SettingsError):
        settings_from_options(_Settings, SandboxOptions(extra={"pages": "many"}))


@pytest.mark.parametrize(
    ("json_output", "expected"), [(True, '{"url": "https://127.0.0.1:1"}'), (False, "at 1")]
)
async def test_serve_announced_emits_json_or_banner_and_stops_when_cancelled(
    json_output: bool, expected: str
) -> None:
    sandbox = _Fake()
    emitted: list[str] = []
    options = SandboxOptions(json_output=json_output)
    task = asyncio.create_task(
        serve_announced(sandbox, options, emitted.append, lambda i: "at " + i.url[-1])
    )
    for _ in range(500):
        if emitted:
            break
        await asyncio.sleep(0.01)
    assert emitted == [expected]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert sandbox.stopped


def test_rows_banner_aligns_the_rows_between_title_and_how_to_stop() -> None:
    from adapters.kit.sandbox.command import rows_banner

    assert rows_banner("Up.", [("url", "https://x"), ("CA certificate", "ca.pem")]) == (
        "Up.\n  url            https://x\n  CA certificate ca.pem\nStop with Ctrl+C."
    )
