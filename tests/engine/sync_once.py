"""Run one sync of a tenant in this process (the crash tests kill it with SIGKILL)."""

import asyncio
import sys

from engine.ops import Ops


async def main(config: str, tenant: str) -> None:
    async with await Ops.open(config, actor="test:crash") as ops:
        run = await ops.sync(tenant)
        print(run.id, run.status, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
