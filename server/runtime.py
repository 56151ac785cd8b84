"""What the tools share: the ops facade, the actor for audit rows, and error translation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from engine.ops import Busy, JournalError, NotFound, Ops, OpsError, PolicyRefused
from engine.tenant_scope import TenantScope, token_scope
from server import detached
from server.detached import Launcher
from server.http import TOKEN_SCOPE_KEY
from server.scrub import scrub_text

OpsOpener = Callable[[str], Awaitable[Ops]]
"""Opens an Ops facade for an actor; used to audit writes under the client's own name."""

TokenScopes = Callable[[str], TenantScope]
"""The tenants the MCP token of a name serves, as ess.toml says now."""

CALLER: ContextVar[Context[Any, Any] | None] = ContextVar("ess_mcp_caller", default=None)
"""The context of the tool call or resource read being answered (set by the server class), so
that every read, not only the tools that take a context, is answered for its caller."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._@ -]+")


def actor_for(client_name: str | None) -> str:
    """``mcp:<client name>``, the name cut to safe characters; ``mcp:unknown`` without one."""
    name = _UNSAFE.sub("", client_name or "").strip()[:64]
    return f"mcp:{name or 'unknown'}"


def client_name_of(ctx: Context[Any, Any] | None) -> str | None:
    """The client's name from the initialize handshake (or the request envelope), if any."""
    if ctx is None:
        return None
    try:
        params = ctx.request_context.session.client_params
    except (ValueError, AttributeError):
        return None
    if params is None or params.client_info is None:
        return None
    return params.client_info.name


def token_name_of(ctx: Context[Any, Any] | None) -> str | None:
    """The name of the bearer token the HTTP request behind ``ctx`` was let in with (set by
    :class:`server.http.BearerGate`); ``None`` outside HTTP."""
    if ctx is None:
        return None
    try:
        request = ctx.request_context.request
    except (ValueError, AttributeError):
        return None
    scope = getattr(request, "scope", None)
    name = scope.get(TOKEN_SCOPE_KEY) if isinstance(scope, dict) else None
    return name if isinstance(name, str) else None


@dataclass
class Runtime:
    """The server's state: one Ops for reads, and one per actor for audited writes.

    Who acts comes from how the client authenticated, never from what it says of itself: over
    HTTP (``by_token``) the name of the bearer token each request carried; over stdio the OS
    user who started the server (``fixed_actor``). Only a server built without either (tests,
    embedders) takes the client's declared name. Over HTTP every read and write is limited to
    the tenants of the request's token (``[mcp.tokens.NAME] tenants``)."""

    base: Ops
    allow_writes: bool
    client_name: str | None = None
    open_ops: OpsOpener | None = None
    fixed_actor: str | None = None
    by_token: bool = False
    token_scopes: TokenScopes | None = None  # None: as the server's ess.toml said at start
    launch: Launcher = detached.launch  # how a real sync is started (a process of its own)
    _writers: dict[str, Ops] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def ops(self) -> Ops:
        """The facade to answer the current call's reads with, for its caller."""
        if not self.by_token:
            return self.base
        name = self._token_name(CALLER.get())
        return self.base.within(self._scope_of(name), actor=f"mcp:{name}")

    def _token_name(self, ctx: Context[Any, Any] | None) -> str:
        name = token_name_of(ctx)
        if name is None:  # the gate lets no request in without one: refuse, never guess
            raise ToolError("This request carries no named ESS MCP token; it is refused.")
        return name

    def _scope_of(self, name: str) -> TenantScope:
        if self.token_scopes is not None:
            return self.token_scopes(name)
        return token_scope(self.base.cfg.config, name)

    def actor(self, ctx: Context[Any, Any] | None) -> str:
        if self.by_token:
            return f"mcp:{self._token_name(ctx)}"
        if self.fixed_actor is not None:
            return self.fixed_actor
        return actor_for(self.client_name or client_name_of(ctx))

    async def writer(self, ctx: Context[Any, Any] | None) -> tuple[Ops, str]:
        """The Ops to run a command with, opened for the calling client's actor."""
        if not self.allow_writes:
            raise ToolError(
                "This server is read-only. Restart it with writes allowed"
                " (`ess mcp --allow-writes`) to use the operations tools, or do the action"
                " in the ESS console."
            )
        return await self.for_actor(ctx)

    async def for_actor(self, ctx: Context[Any, Any] | None) -> tuple[Ops, str]:
        """The Ops opened for the calling client's actor (what an audited call runs on);
        ``ops`` itself when no other can be opened."""
        actor = self.actor(ctx)
        if self.base.actor == actor or self.open_ops is None:
            opened = self.base
        else:
            async with self._lock:
                if actor not in self._writers:
                    self._writers[actor] = await self.open_ops(actor)
                opened = self._writers[actor]
        if self.by_token:
            opened = opened.within(self._scope_of(self._token_name(ctx)), actor=actor)
        return opened, actor

    async def aclose(self) -> None:
        writers, self._writers = list(self._writers.values()), {}
        for ops in writers:
            await ops.close()


@contextmanager
def ops_errors(next_step: str = "") -> Iterator[None]:
    """Turn the facade's errors into ToolErrors whose message says what to do next."""
    tail = f" {next_step}" if next_step else ""

    def sentence(exc: Exception) -> str:
        text = str(exc).rstrip()
        return text if text.endswith((".", "!", "?")) else f"{text}."

    try:
        yield
    except PolicyRefused as exc:
        raise ToolError(
            scrub_text(
                f"Refused by policy: {sentence(exc)} Writes follow the tenant's support tier"
                " (bronze: allowed; silver: needs an active elevation; gold: needs an elevation"
                " the customer approved). Call tenant_status to see what is allowed now."
            )
        ) from None
    except NotFound as exc:
        raise ToolError(scrub_text(f"Not found: {sentence(exc)}{tail}")) from None
    except Busy as exc:
        raise ToolError(
            scrub_text(
                f"Busy: {sentence(exc)} Another run of this tenant is in progress; follow it"
                " with list_runs and search_run_log, then try again when it has finished."
            )
        ) from None
    except OpsError as exc:
        raise ToolError(scrub_text(f"{sentence(exc)}{tail}")) from None
    except JournalError as exc:  # a full disk, a damaged journal: the operator must act
        raise ToolError(
            scrub_text(f"The journal cannot be used: {sentence(exc)} Tell the ESS operator.")
        ) from None
