"""Helpers for the SS 12000 tests: an in-memory SourceCache, a small municipality, a
sandbox on loopback and a source pointed at it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import uvicorn

from adapters.kit.retry import Backoff
from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sandbox import SandboxInfo
from adapters.ss12000.source import SS12000Source
from engine.model import Snapshot
from engine.secrets import Secret
from engine.source import CachedSource, SourceContext

AS_OF = date(2025, 9, 1)
SMALL = 120  # pupils: enough for several schools' worth of structure, fast to read


@dataclass
class MemoryCache:
    """engine.source.SourceCache in memory; ``saves`` counts completed reads."""

    records: dict[str, dict[str, bytes]] = field(default_factory=dict)
    checkpoint: str | None = None
    full_read_at: str | None = None
    saves: int = 0

    async def load(self) -> CachedSource:
        return CachedSource(
            {e: dict(m) for e, m in self.records.items()}, self.checkpoint, self.full_read_at
        )

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Any],
        checkpoint: str,
        full: bool,
    ) -> None:
        for entity, ids in deletes.items():
            for rid in ids:
                self.records.get(entity, {}).pop(rid, None)
        for entity, recs in upserts.items():
            self.records.setdefault(entity, {}).update(recs)
        self.checkpoint = checkpoint
        if full:
            self.full_read_at = checkpoint
        self.saves += 1


def context(cache: MemoryCache | None = None, today: date = AS_OF) -> SourceContext:
    return SourceContext("test", cache or MemoryCache(), today)


def fast_retry(attempts: int = 6) -> Backoff:
    return Backoff(attempts=attempts, base_s=0.005, cap_s=0.02)


def source_for(info: SandboxInfo, *, attempts: int = 6, **overrides: Any) -> SS12000Source:
    settings: dict[str, Any] = {
        "type": "ss12000",
        "profile": info.profile,
        "base_url": info.base_url,
        "token_url": info.token_url,
        "client_id": info.client_id,
        "client_secret": "env:SS12000_TEST_SECRET",
        "page_size": 50,
    }
    settings.update(overrides)
    config = SS12000Config.model_validate(settings)
    return SS12000Source(
        config, Secret("env:SS12000_TEST_SECRET", info.client_secret), retry=fast_retry(attempts)
    )


def same_snapshot(a: Snapshot, b: Snapshot) -> None:
    assert dict(a.schools) == dict(b.schools)
    assert dict(a.persons) == dict(b.persons)
    assert dict(a.groups) == dict(b.groups)
    assert set(a.memberships) == set(b.memberships)
    assert len(a.memberships) == len(b.memberships)
    assert set(a.school_roles) == set(b.school_roles)


def serve_app(app: Any) -> Iterator[str]:
    """Any ASGI app on loopback over real HTTP; yields its root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
