"""One focused test per promise of docs/reliability.md, each the smallest case that shows it.

The state machine (test_life_memory.py, test_life_microsoft.py) and the fault matrix look for
the same failures in many combinations; these name them one at a time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import orjson
import pytest

from engine.ops import Busy, Ops
from tests.reliability import municipality as town
from tests.reliability.checks import (
    converge,
    done_items_present,
    no_duplicates,
    nothing_listed_removed,
)
from tests.reliability.microsoft_kit import MicrosoftKit
from tests.reliability.targets import MemoryKit
from tests.reliability.world import CRASH_POINTS, ROOT, World


def memory_world(path: Path, **knobs: object) -> World:
    w = World(path, MemoryKit(path, **knobs))
    w.source(town.first_snapshot())
    w.faults(0.0)
    return w


# ------------------------------------------------------------------ (a) writes in doubt
async def test_create_applied_then_answered_5xx_is_not_sent_again(tmp_path: Path) -> None:
    """Half the writes are applied and then answered 502: a create must be looked up by natural
    key before it is sent again, so each object exists once; nothing is called done that is
    not there; and once the faults stop the runs finish the work."""
    w = memory_world(tmp_path, applied_fault_rate=0.5)
    await w.sync()
    truth = w.truth()
    no_duplicates(truth)
    done_items_present(w, truth)
    w.kit.overrides["applied_fault_rate"] = 0.0  # type: ignore[attr-defined]
    await converge(w)


async def test_write_answered_5xx_but_not_applied_is_not_reported_done(tmp_path: Path) -> None:
    """Half the writes fail without effect: nothing is called done that the target lacks, and
    the next runs finish the work."""
    w = memory_world(tmp_path, fault_rate=0.5, applied_fault_rate=0.0, throttle_rate=0.0)
    await w.sync()
    done_items_present(w)
    no_duplicates(w.truth())
    await converge(w)


async def test_microsoft_writes_in_doubt_behind_a_visibility_window_make_no_duplicate(
    tmp_path: Path, ms_sandbox_for_reliability: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Graph applies a create, answers 5xx, and a lookup right after does not see the new
    object yet (propagation delay): the create must not be sent again on that evidence."""
    from adapters.microsoft.sandbox import MicrosoftSandbox
    from tests.microsoft.ms_support import SECRET_ENV

    sb = ms_sandbox_for_reliability
    assert isinstance(sb, MicrosoftSandbox)
    monkeypatch.setenv(SECRET_ENV, sb.info.client_secret)
    kit = MicrosoftKit(sb, tmp_path)
    w = World(tmp_path, kit)
    w.source(town.first_snapshot(pupils=12, teachers=2))
    w.faults(0.0)
    kit.fault_kinds, kit.propagation_s = ("applied_5xx",), 1.0
    w.faults(0.5)
    await w.sync()
    no_duplicates(w.truth())
    await converge(w)


# ------------------------------------------------------------------ (b) bad data
async def test_record_the_source_lists_but_validation_blocks_is_held_not_removed(
    tmp_path: Path,
) -> None:
    """A pupil's record gets a blocking bad field (another pupil's address): both stay as they
    were in the target, accounts and memberships, until the record is fixed."""
    w = memory_world(tmp_path)
    assert (await w.sync()).status == "succeeded"
    ps = town.pupils(w.snap)  # type: ignore[arg-type]
    bad, c = town.corrupt(w.snap, ps[3], ps[4])  # type: ignore[arg-type]
    w.source(bad)
    before = w.truth()
    await w.sync()
    nothing_listed_removed(w, before, w.truth(), w.wanted())
    w.source(town.fix(bad, c))
    await converge(w)


async def test_record_refused_by_the_target_is_tried_again_next_run(tmp_path: Path) -> None:
    """The target refuses one pupil (dead item); once it accepts, the next run (same source)
    creates it: a refused record is read and planned again, not forgotten."""
    w = memory_world(tmp_path)
    pid = town.pupils(w.snap)[0]  # type: ignore[arg-type]
    w.kit.overrides["reject_keys"] = [pid]  # type: ignore[attr-defined]
    first = await w.sync()
    assert first.counts.get("dead", 0) >= 1, first.counts
    assert pid not in w.truth().present.get("user", set())
    del w.kit.overrides["reject_keys"]  # type: ignore[attr-defined]
    await converge(w)


async def test_sudden_growth_of_the_source_is_held(tmp_path: Path) -> None:
    """A source that suddenly lists fifteen times as many pupils (600 more: a merged or
    duplicated export) is held for approval, and nothing is applied."""
    w = memory_world(tmp_path)
    assert (await w.sync()).status == "succeeded"
    snap = w.snap
    assert snap is not None
    for n in range(1, 601):
        snap = town.join(snap, n)
    w.source(snap)
    before = w.kit.state_path.read_bytes()  # type: ignore[attr-defined]
    run = await w.sync()
    assert run.status == "held", run.counts
    assert w.kit.state_path.read_bytes() == before  # type: ignore[attr-defined]


async def test_first_sync_into_an_empty_target_is_not_held(tmp_path: Path) -> None:
    """The growth guard leaves a tenant's first run alone: everything is new then."""
    w = memory_world(tmp_path)
    run = await w.sync()
    assert run.status == "succeeded", run.counts


# ------------------------------------------------------------------ (c) leases and crashes
@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_run_killed_at_a_crash_point_is_taken_over_at_once_and_converges(
    tmp_path: Path, point: str
) -> None:
    """SIGKILL at each named crash point; the next run starts at once (the dead process's
    lease is taken over without waiting for it to expire), resumes, and converges."""
    w = memory_world(tmp_path, applied_fault_rate=0.0)
    nth = 1 if point == "after_plan" else 2  # a run passes after_plan once
    code = w.crash_sync(point, nth)
    assert code == -signal.SIGKILL, f"the run never reached {point}:{nth}"
    truth = w.truth()
    no_duplicates(truth)
    done_items_present(w, truth)
    await converge(w)
    assert w.open_items() == 0


async def test_a_live_run_still_refuses_a_second(tmp_path: Path) -> None:
    """Taking over a dead holder's lease must not take a live one's: while a slow run is
    alive in another process, a second run is refused."""
    w = memory_world(tmp_path, latency_s=0.5, batch_size=5, max_concurrency=1)
    w.write_config()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ESS_CRASH_AT", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests/engine/sync_once.py"),
        str(w.config),
        "alpha",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not w.kit.state_path.exists():  # type: ignore[attr-defined]
            assert proc.returncode is None, await proc.communicate()
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        with pytest.raises(Busy):
            async with await Ops.open(w.config, actor="test:second") as ops:
                await ops.sync("alpha")
    finally:
        if proc.returncode is None:
            proc.kill()  # its work is not the point; the refusal was
        await proc.communicate()


# ------------------------------------------------------------------ (d) hostile values
HOSTILE = {
    "nul": "Ann\x00a",
    "escape": "Bo\x1b[2J",
    "bidi override": "Eva\u202eslyk",
    "very long": "L" * 5000,
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
async def test_hostile_value_gives_a_finding_and_never_reaches_the_target(
    tmp_path: Path, what: str
) -> None:
    from dataclasses import replace

    w = memory_world(tmp_path)
    snap = w.snap
    assert snap is not None
    pid = town.pupils(snap)[2]
    p = snap.persons[pid]
    w.source(replace(snap, persons={**snap.persons, pid: replace(p, given_name=HOSTILE[what])}))
    run = await w.sync()
    async with await Ops.open(w.config, actor="test") as ops:
        findings = await ops.findings("alpha", run_id=run.id)
    assert any(f.record_id == pid for f in findings), [(f.code, f.record_id) for f in findings]
    state = orjson.loads(w.kit.state_path.read_bytes())  # type: ignore[attr-defined]
    assert not [v for v in strings(state) if HOSTILE[what] in v]


def strings(value: object) -> list[str]:
    """Every string in a decoded JSON value (JSON text escapes control characters)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []
