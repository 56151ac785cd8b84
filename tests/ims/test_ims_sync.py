"""Whole runs from an IMS export into the memory target, through the ops facade: the guard
holds a run whose export shrank, and a broken delta fails the read and removes nothing."""

from __future__ import annotations

from pathlib import Path

from adapters.ims.writer import write_complete
from engine.model import Snapshot
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot

CONFIG = """\
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"
source = {{ type = "ims", path = "{export}" }}

[tenants.alpha.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
"""


def setup(tmp_path: Path) -> tuple[Path, Path, Snapshot]:
    export = tmp_path / "export"
    export.mkdir()
    config = tmp_path / "ess.toml"
    config.write_text(CONFIG.format(export=export), encoding="utf-8")
    snap = tiny_snapshot(pupils=120)
    write_complete(snap, export / "0001-complete.xml")
    return config, export, snap


def without_half_the_pupils(snap: Snapshot) -> Snapshot:
    pupils = sorted({r.person_id for r in snap.school_roles if r.role.value == "student"})
    gone = set(pupils[: len(pupils) // 2])
    return snap.without(persons=gone)


async def test_a_run_whose_export_shrank_is_held_by_the_guard(tmp_path: Path) -> None:
    config, export, snap = setup(tmp_path)
    async with await Ops.open(config, actor="test:ims") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded"
        write_complete(without_half_the_pupils(snap), export / "0002-complete.xml")
        held = await ops.sync("alpha")
        assert held.status == "held"


async def test_a_broken_delta_fails_the_read_and_removes_nothing(tmp_path: Path) -> None:
    config, export, snap = setup(tmp_path)
    async with await Ops.open(config, actor="test:ims") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded"
        before = (tmp_path / "target.json").read_bytes()
        shrunk = tmp_path / "shrunk.xml"
        write_complete(without_half_the_pupils(snap), shrunk)
        (export / "0002-delta.xml").write_bytes(shrunk.read_bytes()[:-200])  # cut short
        failed = await ops.sync("alpha")
        assert failed.status == "failed"
        assert failed.error is not None and "0002-delta.xml line" in failed.error
        assert (tmp_path / "target.json").read_bytes() == before
        assert not [o for o in await ops.operations(failed.id) if o.action != "noop"]
