"""A working folder for one conformance case: ess.toml over the memory source and the target
under test, a real SQLite journal, runs in this process and crash runs in a child process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from engine.model import Snapshot
from engine.ops import Ops
from engine.testing.child_sync import sync_in_child
from engine.testing.conformance.harness import TargetHarness
from engine.testing.snapshot_io import write_snapshot
from engine.views import RunSummary

TENANT = "alpha"


def toml_value(value: Any) -> str:
    """One TOML value from a plain one (JSON's strings and arrays are TOML's too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


class Bench:
    """One tenant syncing the snapshot file into the harness's target."""

    def __init__(self, path: Path, harness: TargetHarness, *, max_attempts: int = 6) -> None:
        self.path = path
        self.harness = harness
        self.max_attempts = max_attempts
        self.config = path / "ess.toml"
        self.journal = path / "ess.db"
        self.snapshot = path / "snap.json"
        self.policy: dict[str, Any] = {}  # extra [tenants.alpha.policy] keys for a case

    def write_config(self) -> Path:
        lines = [
            "[journal]",
            'path = "ess.db"',
            "",
            f"[tenants.{TENANT}]",
            'source = { type = "memory", path = "snap.json" }',
            "",
            f"[tenants.{TENANT}.policy]",
            f"max_attempts = {self.max_attempts}",
            "retry_base_s = 0.01",
            "retry_max_s = 0.2",
            *(f"{k} = {toml_value(v)}" for k, v in self.policy.items()),
            "",
            f"[tenants.{TENANT}.targets.{self.harness.name}]",
            *(f"{k} = {toml_value(v)}" for k, v in self.harness.table().items()),
        ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.config

    def source(self, snap: Snapshot) -> Snapshot:
        write_snapshot(snap, self.snapshot)
        return snap

    async def sync(self, *, dry_run: bool = False) -> RunSummary:
        """One run through the engine's public API, with the harness's table as it stands."""
        self.write_config()
        saved = {k: os.environ.get(k) for k in self.harness.env()}
        os.environ.update(self.harness.env())
        try:
            async with await Ops.open(self.config, actor="conformance") as ops:
                return await ops.sync(TENANT, dry_run=dry_run)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    async def log(self, run_id: int, contains: str) -> list[str]:
        """The run log's messages of one run that contain ``contains``."""
        async with await Ops.open(self.config, actor="conformance") as ops:
            return [e.message for e in await ops.events(run_id, contains=contains)]

    def sync_in_child(self, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        """One run in a child process; ``crash_at`` (``point:n``) kills it there with SIGKILL."""
        self.write_config()
        env = {k: v for k, v in os.environ.items() if k != "ESS_CRASH_AT"}
        env.update(self.harness.env())
        if crash_at:
            env["ESS_CRASH_AT"] = crash_at
        return sync_in_child(self.config, TENANT, env, actor="conformance:crash")

    def journal_problems(self) -> list[str]:
        """What a settled journal must not show: damage, open items, a run still running."""
        db = sqlite3.connect(self.journal)
        try:
            out = []
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                out.append("the journal fails PRAGMA integrity_check")
            # a run stopped by a tenant-level error leaves its unsent items pending on purpose
            open_ops = db.execute(
                "SELECT COUNT(*) FROM operations WHERE status IN ('pending','in_flight')"
                " AND superseded = 0"
                " AND run_id NOT IN (SELECT id FROM runs WHERE status = 'failed')"
            ).fetchone()[0]
            if open_ops:
                out.append(f"{open_ops} operation(s) still pending or in flight")
            running = db.execute("SELECT COUNT(*) FROM runs WHERE status='running'").fetchone()[0]
            if running:
                out.append(f"{running} run(s) still marked running")
            return out
        finally:
            db.close()

    def done_operations(self) -> list[tuple[str, str, str | None, str]]:
        """(kind, key, parent, action) of every operation the journal calls done."""
        db = sqlite3.connect(self.journal)
        try:
            rows = db.execute(
                "SELECT kind, key, parent, action FROM operations WHERE status='done'"
            ).fetchall()
            return [(str(k), str(key), p, str(a)) for k, key, p, a in rows]
        finally:
            db.close()
