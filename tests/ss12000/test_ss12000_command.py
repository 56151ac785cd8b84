"""``ess sandbox ss12000``: the SANDBOX plugin starts, prints its line, serves, stops."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import orjson

from adapters.ss12000.sandbox.command import SANDBOX
from engine.plugins import SandboxCommand, SandboxOptions


async def test_serve_emits_one_json_line_and_stops_when_cancelled() -> None:
    assert isinstance(SANDBOX, SandboxCommand)
    assert SANDBOX.name == "ss12000"
    lines: list[str] = []
    options = SandboxOptions(size="60", seed=3, json_output=True, extra={"profile": "ist"})
    task = asyncio.create_task(SANDBOX.serve(options, lines.append))
    for _ in range(500):
        if lines or task.done():
            break
        await asyncio.sleep(0.02)
    assert len(lines) == 1
    assert "\n" not in lines[0]
    info = orjson.loads(lines[0])
    assert set(info) == {"base_url", "token_url", "client_id", "client_secret", "profile"}
    assert info["profile"] == "ist"
    async with httpx.AsyncClient() as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        }
        token = (await http.post(info["token_url"], data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        page = (await http.get(f"{info['base_url']}/persons", headers=headers)).json()
        assert page["data"]
        root = info["base_url"].split("/ss12000v2-api")[0]
        advanced = await http.post(f"{root}/_sandbox/advance", json={"kind": "term"})
        assert advanced.status_code == 200
        assert advanced.json()["generation"] == 1
        refused = await http.post(f"{root}/_sandbox/advance", json={"kind": "decade"})
        assert refused.status_code == 400
        wrong = await http.post(info["token_url"], data={**form, "client_secret": "nope"})
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with httpx.AsyncClient() as http:
        try:
            await http.get(info["base_url"] + "/persons", timeout=1)
            stopped = False
        except httpx.TransportError:
            stopped = True
    assert stopped


async def test_banner_names_the_urls_and_the_credentials() -> None:
    lines: list[str] = []
    task = asyncio.create_task(SANDBOX.serve(SandboxOptions(size="40"), lines.append))
    for _ in range(500):
        if lines:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    [banner] = lines
    assert "base_url" in banner
    assert "token_url" in banner
    assert "ess-demo" in banner
    assert "/v2.0" in banner
