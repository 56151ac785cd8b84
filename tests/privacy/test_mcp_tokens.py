"""Named MCP tokens over real HTTP on loopback: the token's name is the audit actor of every
write made with it (whatever name the client gives itself), a revoked or removed token is
refused from its next request on without a restart, the deprecated ``[mcp] token`` still works
as the token named "default"; a stdio session is the OS user's."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation
from starlette.types import ASGIApp
from typer.testing import CliRunner

from console.cli import app as cli
from engine.ops import Ops, os_actor
from server.app import ServeError, build_server, http_app, resolve_tokens, token_ring
from tests.conftest import Workdir

ANNA, BOT, OLD = (
    "anna-token-0123456789abcdef",
    "ci-bot-token-0123456789abcd",
    "old-token-0123456789abcdef",
)
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"},
    },
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

TOKENS = """
[mcp.tokens.anna]
token = "env:ESS_TEST_MCP_ANNA"

[mcp.tokens.ci-bot]
token = "env:ESS_TEST_MCP_BOT"

[mcp.tokens.old]
token = "env:ESS_TEST_MCP_OLD"
revoked = true
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_MCP_ANNA", ANNA)
    monkeypatch.setenv("ESS_TEST_MCP_BOT", BOT)
    monkeypatch.setenv("ESS_TEST_MCP_OLD", OLD)


def with_mcp(workdir: Workdir, table: str) -> None:
    text = workdir.config.read_text(encoding="utf-8")
    workdir.config.write_text(table + "\n" + text, encoding="utf-8")


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def ess_http(workdir: Workdir) -> AsyncIterator[str]:
    """The server as ``ess mcp --http --allow-writes`` builds it, over a real journal."""
    config = workdir.config
    ops = await Ops.open(config, actor="mcp:unknown", read_only=False)

    async def open_for(actor: str) -> Ops:
        return await Ops.open(config, actor=actor, read_only=False)

    server = build_server(ops, allow_writes=True, toolsets=None, open_ops=open_for, by_token=True)
    try:
        async with serving(http_app(server, token=token_ring(config))) as url:
            yield url
    finally:
        await ops.close()


async def sync_as(url: str, token: str, claimed_name: str = "root-admin") -> str:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(
            streamable_http_client(url, http_client=http),
            client_info=Implementation(name=claimed_name, version="1"),
        ) as client,
    ):
        result = await client.call_tool("start_sync", {"tenant": "alpha", "dry_run": False})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return str(result.structured_content["actor"])


async def check_as(url: str, token: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        result = await client.call_tool("check_target", {"tenant": "alpha"})
    assert not result.is_error, result.content


async def status_of(url: str, token: str) -> int:
    async with httpx.AsyncClient() as http:
        r = await http.post(url, json=INIT, headers=HEADERS | {"Authorization": f"Bearer {token}"})
    return r.status_code


async def audit_actors(workdir: Workdir) -> list[str]:
    async with await Ops.open(workdir.config, actor="test", read_only=True) as ops:
        return [a.actor for a in await ops.audit("alpha") if a.action == "sync"]


async def test_each_token_name_is_the_actor_and_a_revocation_takes_effect_at_once(
    workdir: Workdir,
) -> None:
    with_mcp(workdir, TOKENS)
    async with ess_http(workdir) as url:
        assert await sync_as(url, ANNA) == "mcp:anna"  # not the name the client claims
        await check_as(url, BOT)  # an audited read: under the token's name too
        assert await sync_as(url, BOT) == "mcp:ci-bot"
        assert await status_of(url, OLD) == 401  # revoked = true
        # revoke anna while the server runs: her next request is refused, the bot's is not
        text = workdir.config.read_text(encoding="utf-8")
        workdir.config.write_text(
            text.replace('env:ESS_TEST_MCP_ANNA"', 'env:ESS_TEST_MCP_ANNA"\nrevoked = true'),
            encoding="utf-8",
        )
        assert await status_of(url, ANNA) == 401
        assert await status_of(url, BOT) == 200
        # remove the bot's table altogether: refused too
        text = workdir.config.read_text(encoding="utf-8")
        workdir.config.write_text(
            text.replace('[mcp.tokens.ci-bot]\ntoken = "env:ESS_TEST_MCP_BOT"\n', ""),
            encoding="utf-8",
        )
        assert await status_of(url, BOT) == 401
        # a configuration that cannot be read lets no token in (fail closed)
        good = workdir.config.read_text(encoding="utf-8").replace("revoked = true", "")
        workdir.config.write_text("[mcp.tokens.x\n" + good, encoding="utf-8")
        assert await status_of(url, ANNA) == 401
        workdir.config.write_text(good, encoding="utf-8")  # fixed: anna is let in again
        assert await status_of(url, ANNA) == 200
    assert sorted(await audit_actors(workdir)) == ["mcp:anna", "mcp:ci-bot"]
    async with await Ops.open(workdir.config, actor="test", read_only=True) as ops:
        checks = [a.actor for a in await ops.audit("alpha") if a.action == "target_check"]
    assert checks == ["mcp:ci-bot"]


async def test_the_deprecated_single_token_is_the_token_named_default(workdir: Workdir) -> None:
    with_mcp(workdir, '[mcp]\ntoken = "env:ESS_TEST_MCP_BOT"\n')
    async with ess_http(workdir) as url:
        assert await sync_as(url, BOT) == "mcp:default"
    result = CliRunner().invoke(cli, ["--config", str(workdir.config), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "[mcp] token is deprecated" in result.output
    assert "[mcp.tokens.default]" in result.output


def test_token_tables_are_checked_with_clear_messages(workdir: Workdir) -> None:
    with_mcp(
        workdir, '[mcp]\ntoken = "env:ESS_TEST_MCP_BOT"\n[mcp.tokens.default]\ntoken = "env:X"\n'
    )
    with pytest.raises(Exception, match="keep one"):
        resolve_tokens(workdir.config)
    workdir.write()
    with_mcp(workdir, '[mcp.tokens."anna smith"]\ntoken = "env:X"\n')
    with pytest.raises(Exception, match="token name 'anna smith'"):
        resolve_tokens(workdir.config)
    workdir.write()
    with_mcp(workdir, '[mcp.tokens.anna]\ntoken = "env:ESS_TEST_MCP_ANNA"\nrevoked = true\n')
    with pytest.raises(ServeError, match=r"needs a bearer token.*\[mcp\.tokens\.NAME\]"):
        resolve_tokens(workdir.config)  # every token revoked: the server does not start


async def test_a_stdio_session_acts_as_the_os_user(workdir: Workdir, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server", "--config", str(workdir.config), "--allow-writes"],
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    async with Client(params, client_info=Implementation(name="root-admin", version="1")) as c:
        result = await c.call_tool("start_sync", {"tenant": "alpha", "dry_run": False})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    me = os_actor("mcp")
    assert result.structured_content["actor"] == me
    assert await audit_actors(workdir) == [me]
    assert json.dumps(result.structured_content).count("root-admin") == 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_mcp_http_server_serves_metrics_and_health(workdir: Workdir) -> None:
    import os
    import subprocess
    import time

    mcp_port, metrics_port = _free_port(), _free_port()
    with_mcp(workdir, TOKENS + f"\n[metrics]\nmcp_port = {metrics_port}\n")
    root = Path(__file__).resolve().parents[2]
    args = ["-m", "server", "--config", str(workdir.config), "--http", "--port", str(mcp_port)]
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        metrics = health = None
        while time.monotonic() < deadline:
            try:
                metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1)
                health = httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=1)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert metrics is not None and health is not None, proc.stderr
        assert health.status_code == 200 and health.text == "ok\n"
        assert "ess_journal_size_bytes" in metrics.text
        assert "ess_target_http_throttled_total" in metrics.text
        # the MCP endpoint itself still wants a token
        assert httpx.post(f"http://127.0.0.1:{mcp_port}/mcp", json=INIT).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
