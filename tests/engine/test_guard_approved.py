"""An approved plan is remembered: the guard's erosion check does not count the removals an
operator approved again, so the next run is not held for them. Real runs on the scenario."""

from __future__ import annotations

from pathlib import Path

from engine.ops import Ops
from engine.testing.scenario import build_scenario_async
from engine.testing.snapshot_io import read_snapshot, write_snapshot


async def test_the_run_after_an_approved_plan_is_not_held_for_the_same_removals(
    tmp_path: Path,
) -> None:
    config = await build_scenario_async(tmp_path / "scenario")
    async with await Ops.open(config, actor="cli:eva") as ops:
        (held,) = await ops.held_plans("beta")
        await ops.elevate("beta", reason="approve the leavers", minutes=30)
        approved = await ops.approve(held.run_id, reason="leavers at term end")
        assert approved.status == "succeeded"

        # one more pupil leaves: a removal far below any threshold on its own
        path = config.parent / "beta.json"
        snap = read_snapshot(path)
        leaver = sorted(r.person_id for r in snap.school_roles if r.role.value == "student")[0]
        write_snapshot(snap.without(persons={leaver}), path)
        after = await ops.sync("beta")
        assert after.status == "succeeded", after.held_reasons
        assert not any("erosion" in r for r in after.held_reasons)
