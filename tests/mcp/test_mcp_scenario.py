"""The server over the real facade and a journal made by real runs (engine.testing.scenario):
every tool's output scanned for personnummer and secrets, writes under the real tiers, and
`python -m server` / `ess mcp` as real stdio and HTTP subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation
from mcp_support import ClientFactory, everything_text, structured

from engine.ops import Ops, os_actor
from engine.testing.scenario import build_scenario
from server.app import build_server
from server.scrub import PERSONNUMMER

TOKEN_ENV = "ESS_SCENARIO_MCP_TOKEN"
TOKEN = "scenario-token-0123456789abcdef"
CLIENT = "scenario-client"


@pytest.fixture(scope="session")
def scenario_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert build_scenario is not None
    return build_scenario(tmp_path_factory.mktemp("scenario")).parent


@pytest.fixture
def scenario(scenario_master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the scenario (tests write to it) whose config names an MCP token."""
    work = tmp_path / "scenario"
    shutil.copytree(scenario_master, work)
    config = work / "ess.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[mcp]\ntoken = "env:{TOKEN_ENV}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return config


def _civic_numbers(workdir: Path) -> set[str]:
    """Every personnummer the scenario's sources hold, in 12, 10 and dashed forms."""
    found: set[str] = set()
    for path in workdir.glob("*.json"):
        for match in re.finditer(r'"civic_no":\s*"(\d{12})"', path.read_text(encoding="utf-8")):
            n = match.group(1)
            found |= {n, n[2:], f"{n[:8]}-{n[8:]}", f"{n[2:8]}-{n[8:]}"}
    return found


def _assert_clean(text: str, workdir: Path) -> None:
    numbers = _civic_numbers(workdir)
    assert numbers, "the scenario should hold personnummer to look for"
    assert not [n for n in numbers if n in text]
    assert not PERSONNUMMER.search(text)
    assert TOKEN not in text


@pytest.fixture
async def read_ops(scenario: Path) -> AsyncIterator[Ops]:
    ops = await Ops.open(scenario, actor="mcp:unknown", read_only=True)
    try:
        yield ops
    finally:
        await ops.close()


async def test_every_read_output_is_free_of_personnummer_and_secrets(
    read_ops: Ops, scenario: Path, connect: ClientFactory
):
    out: list[str] = []

    async def call(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(name, args)
        out.append(everything_text(result))
        return structured(result)

    async with connect(read_ops) as client:
        tenants = [t["id"] for t in (await call(client, "list_tenants", {}))["tenants"]]
        assert tenants == ["alpha", "beta", "gamma"]
        run_ids: list[int] = []
        failures: list[dict[str, Any]] = []
        for tenant in tenants:
            await call(client, "tenant_status", {"tenant": tenant})
            run_ids += [
                r["id"] for r in (await call(client, "list_runs", {"tenant": tenant}))["runs"]
            ]
            await call(client, "list_findings", {"tenant": tenant, "limit": 100})
            failures += (await call(client, "list_failures", {"tenant": tenant, "limit": 100}))[
                "items"
            ]
        assert failures, "alpha's partial run left failed items"
        plans = (await call(client, "list_held_plans", {}))["plans"]
        assert [p["tenant"] for p in plans] == ["beta"]
        for run_id in run_ids:
            await call(client, "get_run", {"run_id": run_id})
            await call(client, "search_run_log", {"run_id": run_id, "limit": 200})
            out.append(everything_text(await client.read_resource(f"ess://runs/{run_id}")))
            out.append(everything_text(await client.read_resource(f"ess://runs/{run_id}/log")))
        hits: list[dict[str, Any]] = []
        for query in ("an", "er", "skyddad", "lucas"):
            hits += (await call(client, "find_person", {"query": query, "limit": 50}))["hits"]
        hits += (await call(client, "find_group", {"query": "9a", "limit": 50}))["hits"]
        assert {h["record_type"] for h in hits} == {"person", "group"}
        for hit in hits[:40] + [
            {"tenant": f["tenant"], "record_type": "person", "key": f["key"]}
            for f in failures
            if f["kind"] == "user"
        ]:
            await call(
                client,
                "explain_record",
                {"tenant": hit["tenant"], "record_type": hit["record_type"], "key": hit["key"]},
            )
        out.append(everything_text(await client.read_resource("ess://tenants")))
        for tenant in tenants:
            out.append(everything_text(await client.read_resource(f"ess://tenants/{tenant}")))
        prompt = await client.get_prompt("troubleshoot_tenant", {"tenant": "alpha"})
        out.append(everything_text(prompt))
    _assert_clean("\n".join(out), scenario.parent)
    assert "Skyddad identitet" in "\n".join(out)  # beta masks protected identities


async def test_writes_obey_the_real_tiers_and_are_audited(scenario: Path, connect: ClientFactory):
    ops = await Ops.open(scenario, actor="mcp:unknown", read_only=False)

    async def open_for(actor: str) -> Ops:
        return await Ops.open(scenario, actor=actor, read_only=False)

    server = build_server(ops, allow_writes=True, toolsets=None, open_ops=open_for)
    outputs: list[str] = []
    try:
        async with Client(server, client_info=Implementation(name=CLIENT, version="1")) as client:
            refused = await client.call_tool("start_sync", {"tenant": "gamma", "dry_run": False})
            assert refused.is_error
            assert "Refused by policy" in refused.content[0].text  # type: ignore[union-attr]
            dry = await client.call_tool("start_sync", {"tenant": "gamma"})
            outputs.append(everything_text(dry))
            assert structured(dry)["run"]["dry_run"] is True
            items = structured(await client.call_tool("list_failures", {"tenant": "alpha"}))
            ids = [i["id"] for i in items["items"] if i["status"] in ("failed", "dead")][:2]
            retried = await client.call_tool("retry_items", {"item_ids": ids})
            outputs.append(everything_text(retried))
            assert structured(retried)["actor"] == f"mcp:{CLIENT}"
        audit = await ops.audit("alpha")
        assert any(a.actor == f"mcp:{CLIENT}" and a.action.startswith("retry") for a in audit)
        gamma = await ops.audit("gamma")
        assert any(a.actor == f"mcp:{CLIENT}" and not a.allowed for a in gamma)
    finally:
        await ops.close()
    _assert_clean("\n".join(outputs), scenario.parent)


async def test_a_dry_run_the_guard_would_hold_says_so(scenario: Path) -> None:
    ops = await Ops.open(scenario, actor="mcp:unknown", read_only=False)
    server = build_server(ops, allow_writes=True, toolsets=None, open_ops=None)
    try:
        async with Client(server, client_info=Implementation(name=CLIENT, version="1")) as client:
            dry = structured(await client.call_tool("start_sync", {"tenant": "beta"}))
    finally:
        await ops.close()
    assert dry["run"]["dry_run"] is True
    assert dry["run"]["held_reasons"]
    assert "would be HELD" in dry["next_steps"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", TOKEN_ENV)}


@pytest.mark.parametrize("command", ["python -m server", "ess mcp"])
async def test_stdio_subprocess(scenario: Path, command: str):
    if command == "python -m server":
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "server", "--config", str(scenario), "--allow-writes"],
            env=_env(),
        )
    else:
        ess = Path(sys.executable).with_name("ess")
        assert ess.exists(), "the `ess` console script is not installed (pip install -e .)"
        params = StdioServerParameters(
            command=str(ess),
            args=["--config", str(scenario), "mcp", "--allow-writes"],
            env=_env(),
        )
    info = Implementation(name=CLIENT, version="1")
    async with Client(params, client_info=info, mode="legacy") as client:
        tenants = structured(await client.call_tool("list_tenants", {}))
        assert [t["id"] for t in tenants["tenants"]] == ["alpha", "beta", "gamma"]
        log = await client.read_resource("ess://runs/3/log")
        assert "started" in log.contents[0].text  # type: ignore[union-attr]
        names = {t.name for t in (await client.list_tools()).tools}
        assert "retry_items" in names
        items = structured(await client.call_tool("list_failures", {"tenant": "alpha"}))
        first = items["items"][0]["id"]
        done = structured(
            await client.call_tool("skip_items", {"item_ids": [first], "reason": "stdio test"})
        )
    me = os_actor("mcp")  # a stdio session is the OS user's, whatever the client calls itself
    assert done["actor"] == me
    async with await Ops.open(scenario, actor="test:reader", read_only=True) as ops:
        audit = await ops.audit("alpha")
    assert any(a.actor == me and a.action.startswith("skip") for a in audit)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(scenario: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--config", str(scenario), "--http", "--port", str(port)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert TOKEN not in stderr


async def test_http_subprocess_with_the_right_token_a_wrong_one_and_none(http_server: str):
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        Client(streamable_http_client(http_server, http_client=http)) as client,
    ):
        tenants = structured(await client.call_tool("list_tenants", {}))
        assert len(tenants["tenants"]) == 3
        names = {t.name for t in (await client.list_tools()).tools}
        assert "retry_items" not in names  # read-only by default
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as raw:
        none = await raw.post(http_server, json=body, headers=headers)
        wrong = await raw.post(
            http_server, json=body, headers=headers | {"Authorization": "Bearer " + "x" * 32}
        )
    assert (none.status_code, wrong.status_code) == (401, 401)
    assert TOKEN not in none.text + wrong.text
    assert json.loads(none.text)["error"] == "unauthorized"


def test_http_subprocess_without_a_token_refuses_to_start(scenario: Path):
    config = scenario.read_text(encoding="utf-8").replace(f'token = "env:{TOKEN_ENV}"', "")
    scenario.write_text(config, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--config", str(scenario), "--http", "--host", "0.0.0.0"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "needs a bearer token" in proc.stderr
    assert "Traceback" not in proc.stderr
