"""The kit's server thread: port 0 becomes a free port, stop frees it, start failures are
clear, and the foreground path stops when cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest
from kit_support import Counter, counter_app

from adapters.kit.sandbox import SandboxError, SandboxServer, serve_until_cancelled


def test_port_zero_becomes_a_chosen_port_and_stop_closes_it() -> None:
    server = SandboxServer(counter_app(Counter()))
    base = server.start()
    port = int(base.rsplit(":", 1)[1])
    assert port > 0
    with httpx.Client() as keep_alive:
        assert keep_alive.post(f"{base}/count").status_code == 200
        server.stop()  # an idle keep-alive connection does not hold the stop up
        with pytest.raises(httpx.TransportError):
            keep_alive.post(f"{base}/count", timeout=2)
    server.stop()  # twice is harmless


def test_a_taken_port_is_a_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{port}"):
            SandboxServer(counter_app(Counter()), port=port).start()
    finally:
        taken.close()


def test_a_server_without_an_app_does_not_start() -> None:
    with pytest.raises(SandboxError, match="no app"):
        SandboxServer().start()


async def test_serve_until_cancelled_announces_then_stops_on_cancel() -> None:
    server = SandboxServer(counter_app(Counter()))
    announced: list[str] = []
    task = asyncio.create_task(serve_until_cancelled(server.start, server.stop, announced.append))
    for _ in range(500):
        if announced:
            break
        await asyncio.sleep(0.01)
    [base] = announced
    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{base}/count")).status_code == 200
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not server.running
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.TransportError):
            await http.post(f"{base}/count", timeout=2)
