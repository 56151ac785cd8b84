"""Explain gives the finding behind a decision and says the mirror is what ESS last wrote or
read, and when. Real runs of the engine on the scenario's alpha (memory target)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.ops import NotFound, Ops
from engine.testing.scenario import build_scenario_async
from engine.testing.snapshot_io import read_snapshot, write_snapshot


async def test_a_suspended_person_is_explained_with_its_finding(tmp_path: Path) -> None:
    config = await build_scenario_async(tmp_path / "scenario")
    path = config.parent / "alpha.json"
    snap = read_snapshot(path)
    pupil = sorted(r.person_id for r in snap.school_roles if r.role.value == "student")[-1]
    roles = tuple(r for r in snap.school_roles if r.person_id != pupil)
    write_snapshot(replace(snap, school_roles=roles), path)
    async with await Ops.open(config, actor="cli:eva") as ops:
        await ops.sync("alpha")
        ex = await ops.explain("alpha", "person", pupil)
        assert "person.no_role" in {f.code for f in ex.findings}
        user = ex.observed["mem"]["user"]
        assert user["suspended_at"] is not None
        assert user["as_of"]
        assert "suspended" in ex.summary
        assert "as ESS last wrote or read it" in ex.summary
        assert "Why: person.no_role" in ex.summary
        with pytest.raises(NotFound):
            await ops.explain("alpha", "person", "nope")
