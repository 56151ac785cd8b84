"""Streamable HTTP on loopback: the right token gets in, a wrong one or none gets 401."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_fake_ops import FakeOps
from mcp_support import structured
from starlette.types import ASGIApp

from server.app import ServeError, build_server, http_app, resolve_token, run_http
from server.http import BearerGate, is_loopback

TOKEN = "s3cret-token-for-tests-0123456789"
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


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
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


@pytest.fixture
async def url(caplog: pytest.LogCaptureFixture) -> AsyncIterator[str]:
    caplog.set_level(logging.DEBUG)
    server = build_server(FakeOps(), allow_writes=False, toolsets=None)
    async with serving(http_app(server, token=TOKEN)) as base:
        yield base
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_side  # the server did log, at debug level
    assert not [r for r in server_side if TOKEN in r.getMessage()]  # never the token


async def test_the_right_token_serves_tools(url: str):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=auth) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        tenants = structured(await client.call_tool("list_tenants", {}))
    assert [t["id"] for t in tenants["tenants"]] == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token-wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong", "basic", "longer", "empty"],
)
async def test_a_wrong_or_missing_token_is_refused(url: str, headers: dict[str, str]):
    async with httpx.AsyncClient() as http:
        response = await http.post(url, json=INIT, headers=HEADERS | headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer <token>" in response.json()["message"]
    assert TOKEN not in response.text


async def test_raw_initialize_with_the_token_is_answered(url: str):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            url, json=INIT, headers=HEADERS | {"Authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200
    assert '"serverInfo"' in response.text


async def test_the_sdk_client_with_a_wrong_token_fails(url: str):
    async with httpx2.AsyncClient(headers={"Authorization": "Bearer nope-nope-nope-nope"}) as http:
        with pytest.raises(ExceptionGroup) as caught:
            async with Client(streamable_http_client(url, http_client=http)):
                pass
    assert caught.group_contains(MCPError, depth=2)


def test_gate_refuses_short_tokens():
    async def app(scope, receive, send):  # type: ignore[no-untyped-def]  # pragma: no cover
        pass

    with pytest.raises(ValueError, match="at least 16"):
        BearerGate(app, "short")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool):
    assert is_loopback(host) is loopback


def _config(tmp_path: Path, mcp_table: str = "") -> Path:
    path = tmp_path / "ess.toml"
    path.write_text(mcp_table, encoding="utf-8")
    return path


def test_http_without_a_token_refuses_to_start(tmp_path: Path):
    with pytest.raises(ServeError, match=r"needs a bearer token.*--token env:NAME"):
        run_http(
            _config(tmp_path),
            host="0.0.0.0",
            port=1,
            allow_writes=False,
            toolsets=None,
            token_ref=None,
        )


def test_token_comes_from_the_flag_or_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ESS_TEST_MCP_TOKEN", TOKEN)
    (tmp_path / "token.txt").write_text("from-a-file-0123456789\n", encoding="utf-8")
    cfg = _config(tmp_path, '[mcp]\ntoken = "file:token.txt"\n')
    assert resolve_token(cfg, None) == "from-a-file-0123456789"
    assert resolve_token(cfg, "env:ESS_TEST_MCP_TOKEN") == TOKEN
    with pytest.raises(ServeError, match="ESS_TEST_MCP_MISSING") as missing:
        resolve_token(cfg, "env:ESS_TEST_MCP_MISSING")
    monkeypatch.setenv("ESS_TEST_MCP_SHORT", "abc")
    with pytest.raises(ServeError, match="shorter than 16") as short:
        resolve_token(cfg, "env:ESS_TEST_MCP_SHORT")
    assert "abc" not in str(short.value).replace("ESS_TEST_MCP_SHORT", "")
    assert TOKEN not in str(missing.value)
