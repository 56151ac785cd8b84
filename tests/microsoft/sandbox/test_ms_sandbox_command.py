"""``ess sandbox microsoft``: the SandboxCommand serves, announces itself and stops on cancel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl

import httpx
import pytest

from adapters.microsoft.sandbox import SandboxInfo
from adapters.microsoft.sandbox.command import SANDBOX
from engine.plugins import SandboxCommand, SandboxOptions


async def _serve_until_announced(options: SandboxOptions) -> tuple[asyncio.Task[None], list[str]]:
    lines: list[str] = []
    announced = asyncio.Event()

    def emit(text: str) -> None:
        lines.append(text)
        announced.set()

    task = asyncio.create_task(SANDBOX.serve(options, emit))
    await asyncio.wait_for(announced.wait(), timeout=20)
    return task, lines


async def test_json_line_then_clean_stop_on_cancel() -> None:
    assert isinstance(SANDBOX, SandboxCommand)
    assert SANDBOX.name == "microsoft"
    task, lines = await _serve_until_announced(SandboxOptions(json_output=True, latency_ms=1))
    assert len(lines) == 1
    assert "\n" not in lines[0]
    fields = json.loads(lines[0])
    info = SandboxInfo(**fields)
    tls = ssl.create_default_context(cafile=info.ca_path)
    async with httpx.AsyncClient(verify=tls) as client:
        settings = (await client.get(f"{info.inspect_url}/settings")).json()
        assert settings["latency_ms"] == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with httpx.AsyncClient(verify=tls) as client:
        try:
            await client.get(f"{info.inspect_url}/stats", timeout=2)
        except httpx.TransportError:
            stopped = True
        else:
            stopped = False
    assert stopped


async def test_human_banner_names_the_connection_facts() -> None:
    task, lines = await _serve_until_announced(SandboxOptions())
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    banner = lines[0]
    for label in ("authority", "Graph URL", "tenant id", "client id", "client secret", "CA"):
        assert label in banner
    assert "https://127.0.0.1:" in banner


def test_extra_options_become_typed_settings() -> None:
    from adapters.microsoft.sandbox.command import settings_from_strings
    from adapters.microsoft.sandbox.settings import SettingsError

    changes = settings_from_strings(
        {"propagation_delay_s": "2.5", "directory_write_limit": "40", "fault_kinds": "5xx,timeout"}
    )
    assert changes == {
        "propagation_delay_s": 2.5,
        "directory_write_limit": 40,
        "fault_kinds": ["5xx", "timeout"],
    }
    with pytest.raises(SettingsError, match="no_such"):
        settings_from_strings({"no_such": "1"})
    with pytest.raises(SettingsError, match="needs a number"):
        settings_from_strings({"latency_ms": "fast"})
