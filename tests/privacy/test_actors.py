"""Who acted comes from the OS account the command ran as, not from what was typed: ``--actor``
and ``$USER`` only add a note or nothing; root is flagged as a shared account."""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
import sys
from pathlib import Path

from engine.ops import Ops
from engine.views import AuditView
from tests.conftest import Workdir

ROOT = Path(__file__).parents[2]


async def _audit(config: Path) -> list[AuditView]:
    async with await Ops.open(config, actor="test") as ops:
        return await ops.audit(None)


def test_the_audit_names_the_os_account_and_keeps_actor_as_a_note(
    workdir: Workdir,
) -> None:
    config = workdir.write()
    env = {**os.environ, "USER": "anna", "LOGNAME": "anna", "ESS_DEBUG": ""}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(config),
            "--actor",
            "Anna Rektor",
            "audit",
            "verify",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [a for a in asyncio.run(_audit(config)) if a.action == "audit_verify"]
    me = pwd.getpwuid(os.geteuid()).pw_name
    shared = " (shared account)" if os.geteuid() == 0 else ""
    assert row.actor == f"cli:{me}{shared} [note: Anna Rektor]"
