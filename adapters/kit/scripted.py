"""A scripted HTTP/1.1 server on loopback, for tests of the kit's clients: it answers from a
list of (status, headers, delay) and records each request line and Authorization header, so a
test can say exactly what a client sent and how often. A proxy test points a client at it as
its proxy and reads the absolute-form request lines it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

Answer = tuple[int, dict[str, str], float]  # status, headers, seconds to wait before answering


@dataclass
class Scripted:
    """A loopback HTTP/1.1 server answering from a script, recording each request line."""

    answers: list[Answer]
    seen: list[str] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                self.seen.append(lines[0])
                headers = {
                    k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])
                }
                self.auth.append(headers.get("authorization", ""))
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                status, extra, delay = self.answers.pop(0) if self.answers else (200, {}, 0.0)
                if delay:
                    await asyncio.sleep(delay)
                body = b"{}"
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def scripted_server(answers: list[Answer] | None = None) -> AsyncIterator[Scripted]:
    """Serve on a free loopback port for the duration of the block."""
    s = Scripted(list(answers or []))
    srv = await asyncio.start_server(s.handle, "127.0.0.1", 0)
    s.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield s
        srv.close()
