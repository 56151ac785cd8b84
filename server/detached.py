"""A real sync started over MCP runs in a process of its own, so that it outlives the MCP
session (a stdio server dies with its client), and the tool answers with the run's id at once;
the assistant follows it with get_run.

``python -m server.detached --config ess.toml --actor mcp:NAME TENANT [--full] [--target T]
[--served A,B]`` is that process: one sync through the ops facade, audited as the MCP client,
and limited to the tenants the client's token serves (``--served``), as the call was.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO

from engine.ops import Ops, OpsError
from engine.tenant_scope import TenantScope
from engine.views import RunSummary

Launcher = Callable[[Ops, str, str, bool, Sequence[str] | None], Awaitable[RunSummary]]
"""(writer ops, tenant, actor, full, targets) -> the run, once it has started."""

START_TIMEOUT_S = 60.0  # how long the process may take to open the journal and start the run


async def launch(
    ops: Ops, tenant: str, actor: str, full: bool, targets: Sequence[str] | None
) -> RunSummary:
    """Start the sync in a detached process and answer with its run once the journal has it.

    Policy is checked here first, so a refusal is answered (and audited) as the facade does;
    a process that ends before its run appears is answered with what it wrote."""
    decision = await ops.can("sync", tenant)
    if not decision.allowed:  # the facade refuses and audits it, as an inline sync would
        await ops.sync(tenant, targets=targets, full=full, trigger="mcp")
    before = max((r.id for r in await ops.runs(tenant, limit=1)), default=0)
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the child writes it after we return
        prefix=f"ess-mcp-sync-{tenant}-", suffix=".log", delete=False
    )
    command = [sys.executable, "-m", "server.detached", "--config", str(ops.cfg.path)]
    command += ["--actor", actor, tenant, *(["--full"] if full else [])]
    if ops.scope.tenants is not None:
        command += ["--served", ",".join(sorted(ops.scope.tenants))]
    for target in targets or ():
        command += ["--target", target]
    proc = await asyncio.to_thread(_spawn, command, log)
    log.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while True:
        started = [r for r in await ops.runs(tenant, limit=5) if r.id > before and r.actor == actor]
        if started:
            return min(started, key=lambda r: r.id)
        if proc.poll() is not None:
            said = Path(log.name).read_text(encoding="utf-8", errors="replace").strip()
            raise OpsError(f"the sync did not start: {said[-1000:] or f'exit {proc.returncode}'}")
        if loop.time() > deadline:
            raise OpsError(
                f"the sync process ({proc.pid}) started but no run of {tenant} appeared within "
                f"{START_TIMEOUT_S:.0f} s; list_runs shows it once it does"
            )
        await asyncio.sleep(0.1)


def _spawn(command: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A process in a session of its own: the MCP client's end (and its signals) passes it by."""
    if os.name == "nt":
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0
        )
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, creationflags=flags
        )
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )


async def _main(args: argparse.Namespace) -> int:
    opened = await Ops.open(Path(args.config), actor=args.actor)
    served = None if args.served is None else frozenset(filter(None, args.served.split(",")))
    ops = opened.within(TenantScope(served, args.actor))
    try:
        run = await ops.sync(args.tenant, full=args.full, targets=args.target, trigger="mcp")
    except OpsError as exc:
        print(f"ess: {exc}", file=sys.stderr)
        return 1
    finally:
        await opened.close()
    print(f"run {run.id} {run.status}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.detached")
    parser.add_argument("--config", required=True)
    parser.add_argument("--actor", required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--target", action="append")
    parser.add_argument("--served", default=None, help="the tenants the caller serves, a,b")
    parser.add_argument("tenant")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
