"""Fixtures for the MCP server tests: a facade over test data and in-process clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.types import Implementation
from mcp_fake_ops import FakeOps
from mcp_support import CLIENT_NAME

from engine.ops import Ops
from engine.views import RunSummary
from server.app import build_server


@pytest.fixture
def fake() -> FakeOps:
    return FakeOps()


@pytest.fixture
def connect() -> Callable[..., Any]:
    """``async with connect(ops, allow_writes=..., toolsets=...) as client``: in process."""

    @asynccontextmanager
    async def factory(
        ops: Ops,
        *,
        allow_writes: bool = False,
        toolsets: set[str] | None = None,
        name: str = CLIENT_NAME,
        mode: str = "auto",
    ) -> AsyncIterator[Client]:
        async def open_ops(actor: str) -> Ops:
            assert isinstance(ops, FakeOps)
            return ops.for_actor(actor)

        async def inline(
            ops: Ops, tenant: str, actor: str, full: bool, targets: Sequence[str] | None
        ) -> RunSummary:
            # the fake facade has no ess.toml for a process of its own: the sync runs here, so
            # these tests check the policy, audit and answers (test_mcp_detached.py: a process)
            return await ops.sync(tenant, full=full, targets=targets, trigger="mcp")

        server = build_server(
            ops,
            allow_writes=allow_writes,
            toolsets=toolsets,
            open_ops=open_ops if isinstance(ops, FakeOps) else None,
            launch=inline if isinstance(ops, FakeOps) else None,
        )
        client = Client(server, client_info=Implementation(name=name, version="1"), mode=mode)
        async with client:
            yield client

    return factory
