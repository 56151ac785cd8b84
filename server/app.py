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
from engine.monitoring import MetricsServer, Monitor, keep_fresh
from engine.ops import Ops, os_actor
from engine.secrets import SecretError
from engine.tenant_scope import TenantScope, token_scope
from server import (
    prompts,
    resources,
    tools_explain,
    tools_history,
    tools_logs,
    tools_operations,
    tools_sources,
    tools_status,
    tools_target,
)
from server.answers import EssMcpServer
from server.detached import Launcher
from server.http import MIN_TOKEN_LENGTH, BearerGate, TokenRing, is_loopback
from server.runtime import OpsOpener, Runtime, TokenScopes, actor_for
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
    fixed_actor: str | None = None,
    by_token: bool = False,
    token_scopes: TokenScopes | None = None,
    launch: Launcher | None = None,
) -> MCPServer[dict[str, Any]]:
    """The MCP server over ``ops``, serving the chosen toolsets.

    The audited actor of a write: with ``by_token`` (HTTP) ``mcp:<name of the request's
    token>``; else ``fixed_actor`` (stdio: the OS user); else ``mcp:<client_name>`` or the name
    from each client's initialize handshake (tests and embedders only). Writes run on an Ops
    opened for that actor through ``open_ops`` when given, else on ``ops`` itself.
    """
    served = served_toolsets(toolsets, allow_writes=allow_writes)
    rt = Runtime(
        base=ops,
        allow_writes=allow_writes,
        client_name=client_name,
        open_ops=open_ops,
        fixed_actor=fixed_actor,
        by_token=by_token,
        token_scopes=token_scopes,
    )
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
        tools_target.register(mcp, rt)
        tools_history.register(mcp, rt)
    if "logs" in served:
        tools_logs.register(mcp, rt)
    if "explain" in served:
        tools_explain.register(mcp, rt)
    if "operations" in served:
        tools_operations.register(mcp, rt)
    tools_sources.register(mcp, rt, served)
    resources.register(mcp, rt, served)
    prompts.register(mcp, served)
    return mcp


def _opener(config_path: Path | None, *, read_only: bool = False) -> OpsOpener:
    async def open_for(actor: str) -> Ops:
        return await Ops.open(config_path, actor=actor, read_only=read_only)

    return open_for


async def _open(config_path: Path | None, allow_writes: bool, actor: str | None = None) -> Ops:
    return await Ops.open(config_path, actor=actor or actor_for(None), read_only=not allow_writes)


def run_stdio(config_path: Path | None, *, allow_writes: bool, toolsets: set[str] | None) -> None:
    """Serve one client over stdin/stdout until it disconnects."""
    served_toolsets(toolsets, allow_writes=allow_writes)

    me = os_actor("mcp")  # a stdio session is the OS user's who started it

    async def main() -> None:
        ops = await _open(config_path, allow_writes, me)
        try:
            server = build_server(
                ops,
                allow_writes=allow_writes,
                toolsets=toolsets,
                open_ops=_opener(config_path, read_only=not allow_writes),
                fixed_actor=me,
            )
            await server.run_stdio_async()
        finally:
            await ops.close()

    asyncio.run(main())


def resolve_token(config_path: Path | None, token_ref: str | None) -> str:
    """The one bearer token from ``--token`` or the deprecated ``[mcp] token``; ServeError
    without one. (The server itself takes every named token: :func:`resolve_tokens`.)"""
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


def _resolve(loaded: ess_config.LoadedConfig, name: str, ref: str) -> str:
    try:
        token = loaded.secrets().resolve(ref).reveal()
    except SecretError as exc:
        raise ServeError(f"cannot read the MCP token {name!r}: {exc}") from None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ServeError(
            f"the MCP token {name!r} from {ref!r} is shorter than {MIN_TOKEN_LENGTH} characters; "
            "use a long random value (for example `openssl rand -hex 32`)"
        )
    return token


def resolve_tokens(config_path: Path | None, token_ref: str | None = None) -> dict[str, str]:
    """Name -> bearer token: ``--token`` alone (named ``default``), else every
    ``[mcp.tokens.NAME]`` not revoked (and the deprecated ``[mcp] token`` as ``default``)."""
    loaded = ess_config.load(config_path)
    refs = (
        {ess_config.LEGACY_TOKEN_NAME: token_ref}
        if token_ref
        else loaded.config.mcp.active_tokens()
    )
    if not refs:
        raise ServeError(
            "the HTTP transport needs a bearer token: add one table per person or script, "
            '[mcp.tokens.NAME] token = "env:VAR" (or "file:PATH"), to ess.toml, '
            "or pass --token env:NAME (or file:PATH)"
        )
    return {name: _resolve(loaded, name, ref) for name, ref in refs.items()}


def token_ring(config_path: Path | None, token_ref: str | None = None) -> TokenRing:
    """The named tokens, read again from ess.toml whenever the file changes (so a token removed
    or revoked is refused from its next request on); ``--token`` is fixed."""
    if token_ref:
        return TokenRing(lambda: resolve_tokens(config_path, token_ref))
    path = ess_config.load(config_path).path
    return TokenRing(lambda: resolve_tokens(path), lambda: _stamp(path))


def _stamp(path: Path) -> object:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def fresh_token_scopes(config_path: Path | None) -> TokenScopes:
    """Each token's tenants as ess.toml says now (read again when it changes, like the tokens
    themselves): a tenant taken off a token's list is refused from its next request on. A file
    that can no longer be read serves no tenant to anyone until it is fixed."""
    path = ess_config.load(config_path).path
    seen: list[object] = [_stamp(path)]
    current: list[ess_config.EssConfig | None] = [ess_config.load(path).config]

    def scope_of(name: str) -> TenantScope:
        stamp = _stamp(path)
        if stamp != seen[0]:
            seen[0] = stamp
            try:
                current[0] = ess_config.load(path).config
            except Exception as exc:  # fail closed, as the token ring does
                current[0] = None
                log.warning("MCP token scopes could not be read again, none is served: %s", exc)
        config = current[0]
        if config is None:
            return TenantScope(frozenset(), f"MCP token {name}")
        return token_scope(config, name)

    return scope_of


def http_app(server: MCPServer[Any], *, token: str | TokenRing, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app at ``/mcp`` behind the bearer-token gate."""
    return BearerGate(server.streamable_http_app(host=host), token)


@asynccontextmanager
async def metrics_beside(ops: Ops) -> AsyncIterator[MetricsServer | None]:
    """``/metrics`` and ``/healthz`` of the MCP HTTP server on ``[metrics] mcp_port`` (on
    ``[metrics] host``), while the server runs; nothing when it is not set."""
    settings = ops.cfg.config.metrics
    if settings.mcp_port is None:
        yield None
        return
    monitor = Monitor(
        ops.journal,
        ops.cfg.journal_path,
        process="mcp",
        missed_run_margin_s=settings.missed_run_margin_s,
        tenants=ops.scope,
    )
    try:
        served = MetricsServer(monitor, settings.host, settings.mcp_port).start()
    except OSError as exc:
        raise ServeError(
            f"cannot serve metrics on {settings.host}:{settings.mcp_port} ([metrics] mcp_port "
            f"in {ops.cfg.path}): {exc.strerror or exc}"
        ) from None
    stop = asyncio.Event()
    task = asyncio.create_task(keep_fresh(monitor, stop))
    try:
        yield served
    finally:
        stop.set()
        await task
        served.stop()


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
    ring = token_ring(config_path, token_ref)
    for note in [] if token_ref else ess_config.load(config_path).config.mcp.deprecations:
        log.warning("%s", note)
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
                open_ops=_opener(config_path, read_only=not allow_writes),
                by_token=True,
                token_scopes=fresh_token_scopes(config_path),
            )
            config = uvicorn.Config(
                http_app(server, token=ring, host=host),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
            )
            async with metrics_beside(ops):
                await uvicorn.Server(config).serve()
        finally:
            await ops.close()

    asyncio.run(main())
