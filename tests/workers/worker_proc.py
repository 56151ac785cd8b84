"""One ``Workers`` worker in its own process (the kill tests send it SIGKILL or SIGSTOP
mid-run). A third argument gives it another host name: a worker on another machine, whose
lease no process on this host can tell is dead, so it can only expire. A fourth is how long its
journal's write transactions may sit idle before the server ends them."""

import asyncio
import socket
import sys

from engine.config import load
from engine.journal.postgres import PostgresJournal
from engine.workers import Workers


async def main(config: str, name: str) -> None:
    workers = Workers(load(config))
    async with workers.app.open_async():
        print("ready", flush=True)
        await workers.run_worker(name=name, update_heartbeat_interval=0.5, wait=True)


if __name__ == "__main__":
    if len(sys.argv) > 3:
        host = sys.argv[3]
        socket.gethostname = lambda: host
    if len(sys.argv) > 4:
        PostgresJournal.write_idle_limit_s = float(sys.argv[4])
    asyncio.run(main(sys.argv[1], sys.argv[2]))
