"""Building and running the ESS MCP server: stdio by default, streamable HTTP with a token.

The CLI calls :func:`run_stdio` or :func:`run_http`; tests and embedders call
:func:`build_server` with an open :class:`engine.ops.Ops`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp

from engine import config as ess_config
from engine.ops import Ops
from engine.secrets import SecretError
from server import (
    prompts,
    resources,
    tools_explain,
    tools_history,
    tools_logs,
    tools_operations,
    tools_status,
)
from server.answers import EssMcpServer
from server.detached import Launcher
from server.http import MIN_TOKEN_LENGTH, BearerGate, is_loopback
from server.runtime import OpsOpener, Runtime, actor_for
from server.toolsets import served_toolsets

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
ESS keeps Microsoft 365 for Education and Google Workspace for Education (Classroom) in
step with a Swedish school administration system. Each customer setup is a tenant; runs
sync it; items that fail, data findings and plans held by the guard need a support
engineer's attention.
Start with list_tenants, then tenant_status(tenant). Results are paged: pass next_cursor back
as cursor. The tools never show personal identity numbers or secrets; do not ask for them.
Write tools (operations toolset) exist only when the server allows writes; they obey the
tenant's support tier, are audited under this client's name, and start_sync is a dry run
unless dry_run=false is given. Ask the user before any write."""


class ServeError(Exception):
    """The server cannot start as asked; the message says what to change."""


def _version() -> str:
    try:
        return metadata.version("ess")
    except metadata.PackageNotFoundError:
        return "0"


def build_server(
    ops: Ops,
    *,
    allow_writes: bool,
    toolsets: set[str] | None,
    client_name: str | None = None,
    open_ops: OpsOpener | None = None,
    launch: Launcher | None = None,
) -> MCPServer[dict[str, Any]]:
    """The MCP server over ``ops``, serving the chosen toolsets.

    ``client_name`` fixes the audited actor (``mcp:<name>``); without it the name comes from
    each client's initialize handshake. Writes run on an Ops opened for that actor through
    ``open_ops`` when given, else on ``ops`` itself (audited under ``ops.actor``).
    """
    served = served_toolsets(toolsets, allow_writes=allow_writes)
    rt = Runtime(ops=ops, allow_writes=allow_writes, client_name=client_name, open_ops=open_ops)
    if launch is not None:
        rt.launch = launch

    @asynccontextmanager
    async def lifespan(_: MCPServer[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await rt.aclose()

    mcp: MCPServer[dict[str, Any]] = EssMcpServer(
        "ess",
        title="ESS school data sync",
        instructions=INSTRUCTIONS,
        version=_version(),
        lifespan=lifespan,
        log_level="WARNING",
    )
    if "status" in served:
        tools_status.register(mcp, rt)
        tools_history.register(mcp, rt)
    if "logs" in served:
        tools_logs.register(mcp, rt)
    if "explain" in served:
        tools_explain.register(mcp, rt)
    if "operations" in served:
        tools_operations.register(mcp, rt)
    resources.register(mcp, rt, served)
    prompts.register(mcp, served)
    return mcp


def _opener(config_path: Path | None) -> OpsOpener:
    async def open_for(actor: str) -> Ops:
        return await Ops.open(config_path, actor=actor, read_only=False)

    return open_for


async def _open(config_path: Path | None, allow_writes: bool) -> Ops:
    return await Ops.open(config_path, actor=actor_for(None), read_only=not allow_writes)


def run_stdio(config_path: Path | None, *, allow_writes: bool, toolsets: set[str] | None) -> None:
    """Serve one client over stdin/stdout until it disconnects."""
    served_toolsets(toolsets, allow_writes=allow_writes)

    async def main() -> None:
        ops = await _open(config_path, allow_writes)
        try:
            server = build_server(
                ops,
                allow_writes=allow_writes,
                toolsets=toolsets,
                open_ops=_opener(config_path) if allow_writes else None,
            )
            await server.run_stdio_async()
        finally:
            await ops.close()

    asyncio.run(main())


def resolve_token(config_path: Path | None, token_ref: str | None) -> str:
    """The bearer token from ``--token`` or the config's [mcp] token; ServeError without one."""
    loaded = ess_config.load(config_path)
    ref = token_ref or loaded.config.mcp.token
    if not ref:
        raise ServeError(
            "the HTTP transport needs a bearer token: pass --token env:NAME (or file:PATH), "
            'or set token = "env:NAME" under [mcp] in ess.toml'
        )
    try:
        token = loaded.secrets().resolve(ref).reveal()
    except SecretError as exc:
        raise ServeError(f"cannot read the MCP bearer token: {exc}") from None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ServeError(
            f"the MCP bearer token from {ref!r} is shorter than {MIN_TOKEN_LENGTH} characters; "
            "use a long random value (for example `openssl rand -hex 32`)"
        )
    return token


def http_app(server: MCPServer[Any], *, token: str, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app at ``/mcp`` behind the bearer-token gate."""
    return BearerGate(server.streamable_http_app(host=host), token)


def run_http(
    config_path: Path | None,
    *,
    host: str,
    port: int,
    allow_writes: bool,
    toolsets: set[str] | None,
    token_ref: str | None,
) -> None:
    """Serve streamable HTTP at ``http://HOST:PORT/mcp``; every request needs the token."""
    served_toolsets(toolsets, allow_writes=allow_writes)
    token = resolve_token(config_path, token_ref)
    if not is_loopback(host):
        log.warning(
            "listening on %s, beyond loopback: every request needs the bearer token, and the "
            "traffic is plain HTTP, so put a TLS proxy in front",
            host,
        )
    import uvicorn

    async def main() -> None:
        ops = await _open(config_path, allow_writes)
        try:
            server = build_server(
                ops,
                allow_writes=allow_writes,
                toolsets=toolsets,
                open_ops=_opener(config_path) if allow_writes else None,
            )
            config = uvicorn.Config(
                http_app(server, token=token, host=host),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
            )
            await uvicorn.Server(config).serve()
        finally:
            await ops.close()

    asyncio.run(main())
