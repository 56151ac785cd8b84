"""procrastinate workers against a real PostgreSQL (the throw-away test cluster): one run per
tenant, a run by a worker recorded in the journal, and the known procrastinate traps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from engine.config import load
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot
from engine.workers import QUEUE, Workers, WorkersError, lock_of
from tests.conftest import Workdir


def hosted(workdir: Workdir, url: str) -> Path:
    text = workdir.config.read_text(encoding="utf-8")
    path = workdir.path / "ess-hosted.toml"
    path.write_text(text.replace('[journal]\npath = "ess.db"\n', f'[journal]\nurl = "{url}"\n'))
    return path


async def workers_of(workdir: Workdir, pg_dsn: str) -> Workers:
    workers = Workers(load(hosted(workdir, pg_dsn)))
    await workers.install()
    return workers


def jobs(pg_dsn: str) -> list[tuple[int, str, str | None]]:
    with psycopg.connect(pg_dsn) as c:
        return [
            (r[0], r[1], r[2])
            for r in c.execute("SELECT id, status::text, lock FROM procrastinate_jobs ORDER BY id")
        ]


def test_an_on_site_journal_is_refused(workdir: Workdir) -> None:
    with pytest.raises(WorkersError, match=r"\[journal\] url"):
        Workers(load(workdir.config))


async def test_a_worker_runs_the_queued_run_and_one_waits_per_tenant(
    workdir: Workdir, pg_dsn: str
) -> None:
    workers = await workers_of(workdir, pg_dsn)
    async with workers.app.open_async():
        assert await workers.enqueue("alpha") is True
        assert await workers.enqueue("alpha") is False  # one run waits per tenant
        await workers.run_worker(wait=False, name="w1")
        assert await workers.enqueue("alpha") is True  # the first is done: a new one may wait
    async with await Ops.open(hosted(workdir, pg_dsn), actor="test") as ops:
        runs = await ops.runs("alpha")
    assert [r.status for r in runs] == ["succeeded"]
    assert runs[0].actor.startswith("worker:w1")
    assert [(s, lk) for _, s, lk in jobs(pg_dsn)] == [
        ("succeeded", lock_of("alpha")),
        ("todo", lock_of("alpha")),
    ]


ROOT = Path(__file__).resolve().parents[2]


def target_state(workdir: Workdir) -> dict[str, Any]:
    if not workdir.target_state.exists():
        return {}
    return dict(orjson.loads(workdir.target_state.read_bytes()))


async def test_a_killed_worker_is_noticed_and_its_run_resumed_with_nothing_sent_twice(
    workdir: Workdir, pg_dsn: str
) -> None:
    workdir.write(target="duplicate_creates = true\nbatch_size = 5\nlatency_s = 0.15")
    workers = await workers_of(workdir, pg_dsn)
    config = hosted(workdir, pg_dsn)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests/workers/worker_proc.py"),
        str(config),
        "doomed",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with workers.app.open_async():
            await workers.enqueue("alpha")
            deadline = time.monotonic() + 60
            while sum(target_state(workdir).get("creations", {}).values()) < 10:
                assert time.monotonic() < deadline, "the worker never started writing"
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
            async with await Ops.open(config, actor="test") as ops:
                killed = await ops.runs("alpha")
            assert [(r.status, r.actor.split(" ")[0]) for r in killed] == [
                ("running", "worker:doomed")
            ]
            # the dead worker's job holds the tenant's lock: nothing else of alpha runs
            assert await workers.enqueue("alpha") is True
            await workers.run_worker(wait=False, name="idle")
            assert [s for _, s, _ in jobs(pg_dsn)] == ["doing", "todo"]
            # noticed once its heartbeat is older than the stalled interval
            assert (await workers.recover_stalled(stalled_after_s=30)).retried == ()
            await asyncio.sleep(1.5)
            recovered = await workers.recover_stalled(stalled_after_s=1)
            # a run already waits for alpha: the stalled job is closed, not retried (trap 3)
            assert recovered.closed == (jobs(pg_dsn)[0][0],)
            await workers.run_worker(wait=False, name="rescuer")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    state = target_state(workdir)
    assert all(n == 1 for n in state["creations"].values()), "a create was sent twice"
    async with await Ops.open(config, actor="test") as ops:
        runs = await ops.runs("alpha")
        failures = await ops.count_failures("alpha")
    assert runs[0].status == "succeeded" and "rescuer" in runs[0].actor
    assert "running" not in [r.status for r in runs]
    assert failures == 0
    assert len(state["objects"]["user"]) > 50


async def test_a_far_deferred_job_blocks_its_lock_and_ess_never_makes_one(
    workdir: Workdir, pg_dsn: str
) -> None:
    workers = await workers_of(workdir, pg_dsn)
    async with workers.app.open_async():
        # the trap, as procrastinate has it: a job of the lock due tomorrow holds back a
        # job of the same lock due now
        await workers.task.configure(lock="other", schedule_in={"days": 1}).defer_async(
            tenant="alpha"
        )
        await workers.task.configure(lock="other").defer_async(tenant="alpha")
        await workers.run_worker(wait=False, name="w")
        assert [s for _, s, _ in jobs(pg_dsn)] == ["todo", "todo"]
        # ESS's own runs are queued when due, at most one per tenant, so none waits behind
        # a future job of its lock
        assert await workers.enqueue("alpha") is True
        await workers.run_worker(wait=False, name="w")
    assert [s for _, s, lk in jobs(pg_dsn) if lk == lock_of("alpha")] == ["succeeded"]


async def test_a_stalled_job_alone_is_retried_and_run(workdir: Workdir, pg_dsn: str) -> None:
    workers = await workers_of(workdir, pg_dsn)
    async with workers.app.open_async():
        await workers.enqueue("alpha")
        manager = workers.app.job_manager
        dead = await manager.register_worker()
        job = await manager.fetch_job([QUEUE], dead)  # taken by a worker that then died
        assert job is not None
        with psycopg.connect(pg_dsn) as c:
            c.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
        recovered = await workers.recover_stalled(stalled_after_s=60)
        assert recovered.retried == (job.id,) and recovered.closed == ()
        await workers.run_worker(wait=False, name="w2")
    assert [s for _, s, _ in jobs(pg_dsn)] == ["succeeded"]


TENANT = """
[tenants.{tid}]
source = {{ type = "memory", path = "{tid}.json" }}

[tenants.{tid}.targets.mem]
type = "memory"
state = "{tid}-target.json"
latency_s = 0.05
"""


async def test_three_workers_run_many_tenants_each_once(tmp_path: Path, pg_dsn: str) -> None:
    tenants = [f"t{i}" for i in range(9)]
    text = f'[journal]\nurl = "{pg_dsn}"\n'
    for i, tid in enumerate(tenants):
        write_snapshot(tiny_snapshot(seed=i + 1, pupils=20), tmp_path / f"{tid}.json")
        text += TENANT.format(tid=tid)
    config = tmp_path / "ess.toml"
    config.write_text(text, encoding="utf-8")
    workers = Workers(load(config))
    await workers.install()
    async with workers.app.open_async():
        for tid in tenants:
            assert await workers.enqueue(tid)
        await asyncio.gather(*(workers.run_worker(wait=False, name=f"w{n}") for n in range(3)))
    async with await Ops.open(config, actor="test") as ops:
        runs = {tid: await ops.runs(tid) for tid in tenants}
    assert {tid: [r.status for r in rs] for tid, rs in runs.items()} == {
        tid: ["succeeded"] for tid in tenants
    }
    by = {rs[0].actor.split(" ")[0] for rs in runs.values()}
    assert len(by) >= 2, by  # the work was shared
    assert [s for _, s, _ in jobs(pg_dsn)] == ["succeeded"] * len(tenants)


LEASE_S = 3.0
STALLED_S = 1.0


def short_lease(workdir: Workdir, pg_dsn: str) -> Path:
    """The hosted configuration with a worker lease of LEASE_S seconds."""
    path = hosted(workdir, pg_dsn)
    path.write_text(path.read_text("utf-8") + f"\n[workers]\nlease_s = {LEASE_S}\n", "utf-8")
    return path


async def start_remote_worker(
    config: Path, name: str, stderr: Path, *, write_idle_limit_s: float = 60.0
) -> asyncio.subprocess.Process:
    """A worker that reports another host name: a worker on another machine."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests/workers/worker_proc.py"),
        str(config),
        name,
        "another-machine",
        str(write_idle_limit_s),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr.open("wb"),
    )


async def writing(workdir: Workdir, creations: int) -> None:
    deadline = time.monotonic() + 60
    while sum(target_state(workdir).get("creations", {}).values()) < creations:
        assert time.monotonic() < deadline, "the worker never started writing"
        await asyncio.sleep(0.05)


async def rescued(config: Path, workers: Workers, deadline_s: float) -> float:
    """Runs a second worker and the stalled-job sweep until alpha's run succeeded; returns
    the seconds it took."""
    started = time.monotonic()
    rescuer = asyncio.create_task(
        workers.run_worker(
            name="rescuer", wait=True, fetch_job_polling_interval=0.2, update_heartbeat_interval=0.5
        )
    )
    try:
        async with await Ops.open(config, actor="test") as ops:
            while not [r for r in await ops.runs("alpha") if r.status == "succeeded"]:
                assert time.monotonic() - started < deadline_s, "the run was not resumed"
                assert not rescuer.done(), rescuer
                await workers.recover_stalled(stalled_after_s=STALLED_S)
                await asyncio.sleep(0.2)
        return time.monotonic() - started
    finally:
        rescuer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rescuer


async def test_a_worker_killed_on_another_machine_is_resumed_once_its_short_lease_expires(
    workdir: Workdir, pg_dsn: str
) -> None:
    workdir.write(target="duplicate_creates = true\nbatch_size = 5\nlatency_s = 0.15")
    config = short_lease(workdir, pg_dsn)
    workers = Workers(load(config))
    await workers.install()
    proc = await start_remote_worker(config, "doomed", workdir.path / "doomed.err")
    try:
        async with workers.app.open_async():
            await workers.enqueue("alpha")
            await writing(workdir, 10)
            async with await Ops.open(config, actor="test") as ops:
                holder = await ops.journal.lease_holder("alpha")
            # held by a process this host cannot see: its lease can only expire
            assert holder is not None and "another-machine" in holder.holder
            assert holder.expires_at - time.time() <= LEASE_S
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
            # a lease of 300 s, as before the heartbeat, would hold the run far longer
            took = await rescued(config, workers, deadline_s=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    print(f"resumed {took:.1f} s after the kill (stalled {STALLED_S} s + lease {LEASE_S} s)")
    state = target_state(workdir)
    assert all(n == 1 for n in state["creations"].values()), "a create was sent twice"
    async with await Ops.open(config, actor="test") as ops:
        runs = await ops.runs("alpha")
        failures = await ops.count_failures("alpha")
    assert runs[0].status == "succeeded" and "rescuer" in runs[0].actor
    assert "running" not in [r.status for r in runs]
    assert failures == 0
    assert len(state["objects"]["user"]) > 50


async def test_a_stalled_worker_whose_lease_was_taken_over_writes_nothing_more(
    workdir: Workdir, pg_dsn: str
) -> None:
    workdir.write(target="duplicate_creates = true\nbatch_size = 5\nlatency_s = 0.15")
    config = short_lease(workdir, pg_dsn)
    workers = Workers(load(config))
    await workers.install()
    err = workdir.path / "stalled.err"
    # its write transactions are ended by the server after 2 s idle (60 s by default)
    proc = await start_remote_worker(config, "stalled", err, write_idle_limit_s=2.0)
    try:
        async with workers.app.open_async():
            await workers.enqueue("alpha")
            await writing(workdir, 10)
            proc.send_signal(signal.SIGSTOP)  # alive, but silent: no heartbeat, no write
            await asyncio.sleep(0.5)
            # what it marked in flight before it stopped is all it can still send when it
            # wakes: any other send needs a mark first, and a mark is a fenced write
            async with await Ops.open(config, actor="test") as ops:
                [run] = await ops.runs("alpha")
                marked = {
                    f"{s.op.kind}:{s.op.key}"
                    for s in await ops.journal.load_operations(run.id, ["in_flight"])
                }
            await rescued(config, workers, deadline_s=120)
            proc.send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 30
            while b"taken over" not in err.read_bytes():
                assert time.monotonic() < deadline, err.read_text("utf-8")
                await asyncio.sleep(0.1)
    finally:
        proc.kill()
        await proc.wait()
    twice = {k for k, n in target_state(workdir)["creations"].items() if n > 1}
    assert twice <= marked, twice - marked
    async with await Ops.open(config, actor="test") as ops:
        runs = await ops.runs("alpha")
    assert runs[0].status == "succeeded" and "rescuer" in runs[0].actor
