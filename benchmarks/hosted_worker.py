"""One hosted worker for benchmarks/hosted.py, as ``ess worker`` runs it (procrastinate's
defaults: a heartbeat every 10 s, a poll for deferred jobs every 5 s).

    python benchmarks/hosted_worker.py CONFIG NAME [HOST] [CONCURRENCY]

HOST makes it report another host name: a worker on another machine, whose lease no process
on this host can tell is dead.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import load
from engine.workers import Workers


async def main(config: str, name: str, concurrency: int) -> None:
    workers = Workers(load(config))
    async with workers.app.open_async():
        print("ready", flush=True)
        await workers.run_worker(name=name, concurrency=concurrency)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3]:
        host = sys.argv[3]
        socket.gethostname = lambda: host
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[4]) if len(sys.argv) > 4 else 1))
