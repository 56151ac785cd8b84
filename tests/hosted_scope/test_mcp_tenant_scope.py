"""MCP tokens limited to tenants, over real streamable HTTP on loopback and over stdio: every
tool and resource answers for the request's token, whatever the client calls itself; another
tenant is refused (and audited under the token), its runs and items are "not found", and a
change of the token's list in ess.toml holds from the next request on."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from engine.ops import Ops
from server import detached
from server.app import build_server, fresh_token_scopes, http_app, token_ring
from tests.conftest import Workdir
from tests.hosted_scope.scope_support import ME, OTHER, SERVED, Rows, config_text, fill_two
from tests.privacy.test_mcp_tokens import serving

ANNA, BOSS = "anna-token-0123456789abcdef", "boss-token-0123456789abcdef"
TOKENS = """
[mcp.tokens.anna]
token = "env:ESS_TEST_SCOPE_ANNA"
tenants = ["alpha"]

[mcp.tokens.boss]
token = "env:ESS_TEST_SCOPE_BOSS"
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_SCOPE_ANNA", ANNA)
    monkeypatch.setenv("ESS_TEST_SCOPE_BOSS", BOSS)


async def _filled(config: Path) -> Rows:
    async with await Ops.open(config, actor="test:setup") as ops:
        return await fill_two(ops.journal)


@asynccontextmanager
async def ess_http(config: Path) -> AsyncIterator[str]:
    """The server as ``ess mcp --http --allow-writes`` builds it."""
    ops = await Ops.open(config, actor="mcp:unknown")

    async def open_for(actor: str) -> Ops:
        return await Ops.open(config, actor=actor)

    server = build_server(
        ops,
        allow_writes=True,
        toolsets=None,
        open_ops=open_for,
        by_token=True,
        token_scopes=fresh_token_scopes(config),
    )
    try:
        async with serving(http_app(server, token=token_ring(config))) as url:
            yield url
    finally:
        await ops.close()


@asynccontextmanager
async def as_token(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def _call(client: Client, tool: str, **args: Any) -> tuple[bool, Any]:
    result = await client.call_tool(tool, args)
    if result.is_error:
        return False, " ".join(getattr(c, "text", "") for c in result.content)
    return True, result.structured_content


async def test_a_token_sees_and_acts_on_its_own_tenants_only(workdir: Workdir) -> None:
    workdir.config.write_text(config_text(TOKENS), encoding="utf-8")
    other = await _filled(workdir.config)
    async with ess_http(workdir.config) as url:
        async with as_token(url, ANNA) as anna:
            ok, page = await _call(anna, "list_tenants")
            assert ok and [t["id"] for t in page["tenants"]] == [SERVED]
            ok, page = await _call(anna, "list_failures")
            assert ok and page["items"] and {i["tenant"] for i in page["items"]} == {SERVED}
            ok, page = await _call(anna, "list_audit")
            assert ok and {r["tenant"] for r in page["rows"]} == {SERVED}
            ok, said = await _call(anna, "tenant_status", tenant=OTHER)
            assert not ok and "not among the tenants MCP token anna may serve (alpha)" in said
            ok, said = await _call(anna, "start_sync", tenant=OTHER)
            assert not ok and "Refused by policy" in said
            ok, said = await _call(anna, "get_run", run_id=other.run)
            assert not ok and f"Not found: no run {other.run};" in said and OTHER not in said
            ok, said = await _call(anna, "get_item", item_id=other.item)
            assert not ok and f"no item {other.item}" in said
            ok, said = await _call(anna, "retry_items", item_ids=[other.item])
            assert not ok and "Not found" in said
            listing = json.loads((await anna.read_resource("ess://tenants")).contents[0].text)
            assert [t["id"] for t in listing] == [SERVED]
            with pytest.raises(MCPError, match="no run"):
                await anna.read_resource(f"ess://runs/{other.run}")
        async with as_token(url, BOSS) as boss:  # a token without a list: every tenant
            ok, page = await _call(boss, "list_tenants")
            assert ok and sorted(t["id"] for t in page["tenants"]) == [SERVED, OTHER]
            ok, _ = await _call(boss, "get_run", run_id=other.run)
            assert ok
        # the list widened while the server runs: anna's next request sees beta
        text = workdir.config.read_text(encoding="utf-8")
        widened = text.replace('tenants = ["alpha"]', 'tenants = ["alpha", "beta"]')
        workdir.config.write_text(widened, encoding="utf-8")
        async with as_token(url, ANNA) as anna:
            ok, page = await _call(anna, "list_tenants")
            assert ok and sorted(t["id"] for t in page["tenants"]) == [SERVED, OTHER]
    async with await Ops.open(workdir.config, actor="test") as ops:
        refused = [a for a in await ops.audit(OTHER) if not a.allowed]
    assert {a.actor for a in refused} == {"mcp:anna"}
    assert {a.action for a in refused} >= {"tenant", "sync", "run_lookup", "item_lookup"}


async def test_a_stdio_session_serves_the_os_accounts_tenants(workdir: Workdir) -> None:
    workdir.config.write_text(
        config_text(f'[operators."{ME}"]\ntenants = ["alpha"]\n'), encoding="utf-8"
    )
    other = await _filled(workdir.config)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server", "--config", str(workdir.config)],
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    async with Client(params) as client:
        ok, page = await _call(client, "list_tenants")
        assert ok and [t["id"] for t in page["tenants"]] == [SERVED]
        ok, said = await _call(client, "get_run", run_id=other.run)
        assert not ok and "Not found" in said


def test_the_detached_sync_process_keeps_the_tokens_tenants(
    workdir: Workdir, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real sync over MCP runs in a process of its own: it is limited as the call was."""
    workdir.config.write_text(config_text(TOKENS), encoding="utf-8")
    args = ["--config", str(workdir.config), "--actor", "mcp:anna", "--served", SERVED]
    assert detached.main([*args, OTHER]) == 1
    assert "not among the tenants mcp:anna may serve (alpha)" in capsys.readouterr().err
