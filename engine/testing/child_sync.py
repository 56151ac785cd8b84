"""One sync of a tenant in a child process, for the crash tests: a process of its own that a
crash point (:mod:`engine.faults`) kills with SIGKILL, its journal connections with it.

The children fork from one server process that has imported the engine once
(multiprocessing's forkserver with this module preloaded), so a child starts at once instead of
importing the engine anew, which costs about a second per child and most of a crash test's
time. Each child gets exactly the environment and working folder it is given, as a fresh
process would, and its outcome comes back as a :class:`subprocess.CompletedProcess`: stdout
``"<run id> <status>"`` when the run ended, the return code ``-SIGKILL`` when it was killed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import tempfile
import traceback
from collections.abc import Mapping
from multiprocessing.context import ForkServerContext
from pathlib import Path

from engine.ops import Ops

_context: ForkServerContext | None = None


def _forkserver() -> ForkServerContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        _context = context
    return _context


async def _sync(config: str, tenant: str, actor: str) -> str:
    async with await Ops.open(config, actor=actor) as ops:
        run = await ops.sync(tenant)
        return f"{run.id} {run.status}\n"


def _child(
    config: str, tenant: str, actor: str, env: dict[str, str], cwd: str, out: str, err: str
) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        Path(out).write_text(asyncio.run(_sync(config, tenant, actor)), encoding="utf-8")
    except BaseException:  # the parent reads it as a failed process's stderr
        Path(err).write_text(traceback.format_exc(), encoding="utf-8")
        raise SystemExit(1) from None


def sync_in_child(
    config: Path,
    tenant: str,
    env: Mapping[str, str],
    *,
    actor: str = "test:crash",
    timeout_s: float = 180.0,
) -> subprocess.CompletedProcess[str]:
    """Run one sync of ``tenant`` in a child with exactly ``env`` (``ESS_CRASH_AT`` in it names
    the crash point) and wait for it to end or be killed."""
    args = ["sync_in_child", str(config), tenant]
    with tempfile.TemporaryDirectory(prefix="ess-child-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        child = _forkserver().Process(
            target=_child,
            args=(str(config), tenant, actor, dict(env), os.getcwd(), str(out), str(err)),
        )
        child.start()
        child.join(timeout_s)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(args, timeout_s)
        stdout = out.read_text(encoding="utf-8") if out.exists() else ""
        stderr = err.read_text(encoding="utf-8") if err.exists() else ""
        return subprocess.CompletedProcess(args, child.exitcode, stdout, stderr)
