"""Shared fixtures: a working folder with an ess.toml over the memory doubles."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.model import Snapshot
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot

# pg_server and pg_dsn: a throw-away PostgreSQL server of the session (tests/pg_cluster.py)
pytest_plugins = ["tests.pg_cluster"]

# Times are shown in the machine's own zone; the tests (and the console they start under tmux)
# all see UTC, so that what they print is the same on every machine.
os.environ["TZ"] = "UTC"
time.tzset()

BASE = """\
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"
tier = "{tier}"
source = {{ type = "memory", path = "snap.json" }}

[tenants.alpha.policy]
max_attempts = {max_attempts}
retry_base_s = 0.01
retry_max_s = 0.05
{policy}

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
{target}
"""


class Workdir:
    """A folder with ess.toml, a snapshot file and a memory target's state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = path / "ess.toml"
        self.snapshot_path = path / "snap.json"
        self.target_state = path / "target.json"
        self.journal = path / "ess.db"

    def write(
        self, *, tier: str = "bronze", target: str = "", policy: str = "", max_attempts: int = 3
    ) -> Path:
        self.config.write_text(
            BASE.format(
                tier=tier,
                target=textwrap.dedent(target),
                policy=textwrap.dedent(policy),
                max_attempts=max_attempts,
            ),
            encoding="utf-8",
        )
        return self.config

    def source(self, snap: Snapshot) -> Snapshot:
        write_snapshot(snap, self.snapshot_path)
        return snap


@pytest.fixture
def workdir(tmp_path: Path) -> Workdir:
    w = Workdir(tmp_path)
    w.write()
    w.source(tiny_snapshot())
    return w


@pytest.fixture
def make_workdir(tmp_path: Path) -> Callable[[str], Workdir]:
    def make(name: str) -> Workdir:
        p = tmp_path / name
        p.mkdir()
        return Workdir(p)

    return make
