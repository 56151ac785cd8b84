"""Run one sync of the conformance tenant in this process; the crash cases kill it with
SIGKILL at a named crash point (``ESS_CRASH_AT``) and run it again."""

from __future__ import annotations

import asyncio
import sys

from engine.ops import Ops
from engine.testing.conformance.bench import TENANT


async def main(config: str) -> None:
    async with await Ops.open(config, actor="conformance:crash") as ops:
        run = await ops.sync(TENANT)
        print(run.id, run.status, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
