"""One ``Workers`` worker in its own process (the kill test sends it SIGKILL mid-run)."""

import asyncio
import sys

from engine.config import load
from engine.workers import Workers


async def main(config: str, name: str) -> None:
    workers = Workers(load(config))
    async with workers.app.open_async():
        print("ready", flush=True)
        await workers.run_worker(name=name, update_heartbeat_interval=0.5, wait=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
