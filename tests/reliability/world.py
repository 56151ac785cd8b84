"""One tenant's world for the reliability suites: an ess.toml over the memory source and one
target kit, runs in this process or in a child process that a crash point may kill, and the
checks every run must pass.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model import Snapshot
from engine.ops import Busy, Ops
from engine.testing.child_sync import sync_in_child
from engine.testing.snapshot_io import write_snapshot
from engine.views import RunSummary
from tests.reliability.targets import TargetKit, TrueState, Wanted, toml_table

ROOT = Path(__file__).resolve().parents[2]
CRASH_POINTS = ("after_plan", "after_mark", "after_apply", "before_record", "after_record")
"""Every named crash point of the engine (engine/faults.py callers)."""

POLICY = """\
max_attempts = 4
retry_base_s = 0.01
retry_max_s = 0.05
"""


class InvariantBroken(AssertionError):
    """A promise of ESS did not hold; the message names the promise."""


@dataclass
class RunRecord:
    """What one step did, for the failure message of a broken invariant."""

    step: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)


class World:
    """A tenant ``alpha`` with the memory source and one target, in its own folder."""

    def __init__(self, path: Path, kit: TargetKit) -> None:
        self.path = path
        self.kit = kit
        self.config = path / "ess.toml"
        self.snapshot_path = path / "snap.json"
        self.journal = path / "ess.db"
        self.fault_rate = 0.0
        self.seed = 1
        self.log: list[RunRecord] = []
        self.snap: Snapshot | None = None

    # ------------------------------------------------------------------ arranging
    def write_config(self) -> None:
        table = self.kit.table(fault_rate=self.fault_rate, seed=self.seed)
        self.config.write_text(
            "[journal]\n"
            f'path = "{self.journal}"\n\n'
            "[tenants.alpha]\n"
            f'source = {{ type = "memory", path = "{self.snapshot_path}" }}\n\n'
            "[tenants.alpha.policy]\n"
            f"{POLICY}\n"
            f"[tenants.alpha.targets.{self.kit.name}]\n"
            f"{toml_table(table)}\n",
            encoding="utf-8",
        )
        self.kit.set_faults(self.fault_rate, self.seed)

    def source(self, snap: Snapshot) -> None:
        self.snap = snap
        write_snapshot(snap, self.snapshot_path)

    def faults(self, rate: float) -> None:
        self.fault_rate = rate
        self.write_config()

    # ------------------------------------------------------------------ runs
    async def sync(self, *, dry_run: bool = False) -> RunSummary:
        self.seed += 1  # each run its own fault pattern, the same on every replay
        self.write_config()
        try:
            async with await Ops.open(self.config, actor="test:reliability") as ops:
                run = await ops.sync("alpha", dry_run=dry_run)
        except Busy as exc:
            raise InvariantBroken(
                f"lease: a run was refused although no live process holds the tenant: {exc}"
            ) from None
        self.log.append(RunRecord("dry run" if dry_run else "sync", run.status, dict(run.counts)))
        return run

    async def approve(self, run_id: int) -> RunSummary:
        async with await Ops.open(self.config, actor="test:reliability") as ops:
            run = await ops.approve(run_id, reason="the pupils really left")
        self.log.append(RunRecord(f"approve {run_id}", run.status, dict(run.counts)))
        return run

    async def reject(self, run_id: int) -> None:
        async with await Ops.open(self.config, actor="test:reliability") as ops:
            result = await ops.reject(run_id, reason="not now")
        assert result.ok, result
        self.log.append(RunRecord(f"reject {run_id}", "rejected"))

    def crash_sync(self, point: str, nth: int) -> int:
        """A run in a subprocess, killed with SIGKILL at the ``nth`` pass of ``point`` (a run
        that never gets there ends normally). Returns the process's return code."""
        self.seed += 1
        self.write_config()
        env = {k: v for k, v in os.environ.items() if k != "ESS_CRASH_AT"}
        env.update(self.kit.env())
        env["ESS_CRASH_AT"] = f"{point}:{nth}"
        done = sync_in_child(self.config, "alpha", env, timeout_s=120)
        if done.returncode not in (0, -signal.SIGKILL):
            raise InvariantBroken(
                f"a run with crash point {point}:{nth} failed without being killed:\n"
                f"{done.stderr[-2000:]}"
            )
        status = "killed" if done.returncode else done.stdout.split()[1]
        self.log.append(RunRecord(f"crash at {point}:{nth}", status))
        return done.returncode

    # ------------------------------------------------------------------ reading
    def truth(self) -> TrueState:
        return self.kit.truth()

    def wanted(self) -> Wanted:
        assert self.snap is not None
        return self.kit.wanted(self.snap)

    def history(self) -> str:
        return "\n".join(f"  {r.step}: {r.status} {r.counts}" for r in self.log[-12:])

    def settled_done_ops(self) -> list[dict[str, Any]]:
        """Operations the journal calls done and that no later operation on the same object
        or link followed: their effect must be in the target now."""
        db = sqlite3.connect(self.journal)
        db.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in db.execute("SELECT * FROM operations ORDER BY id")]
        finally:
            db.close()
        newest: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}
        for r in rows:
            if r["status"] == "cancelled":
                continue
            newest[(r["target"], r["kind"], r["parent"], r["key"])] = r
        return [r for r in newest.values() if r["status"] == "done"]

    def open_items(self) -> int:
        db = sqlite3.connect(self.journal)
        try:
            n: int = db.execute(
                "SELECT COUNT(*) FROM operations WHERE status IN ('pending', 'in_flight') "
                "AND run_id IN (SELECT id FROM runs WHERE status != 'held')"
            ).fetchone()[0]
            return n
        finally:
            db.close()
