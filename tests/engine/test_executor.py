"""The executor on its own: Retry-After honoured, backoff bounded, a 429 pauses every sender,
and dependants of a failed item are blocked while the rest goes on."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from engine.executor import Executor, RetryPolicy
from engine.journal import SqliteJournal
from engine.model import Snapshot
from engine.plan import Action, Operation, OpStatus
from engine.target import (
    Batch,
    DesiredState,
    KindSpec,
    LinkSpec,
    Outcome,
    RateLimit,
    TargetBase,
    TargetContext,
)


class ScriptedTarget(TargetBase):
    """Answers each key with a scripted list of outcomes and records when each try came; every
    other hook is the base's default (one operation a batch, no lanes, nothing read back)."""

    kinds = (KindSpec("user", 1), KindSpec("class", 2))
    links = (LinkSpec("class.member", "class", "user"),)

    def __init__(self, script: dict[str, list[Outcome]], concurrency: int = 4) -> None:
        self.script = script
        self.calls: list[tuple[str, float]] = []
        self.rate_limit = RateLimit(1000, 1.0, concurrency)
        self.name = "scripted"

    def desired(self, snapshot: Snapshot) -> DesiredState:
        return DesiredState({}, {})

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        out = []
        for op in batch.operations:
            self.calls.append((op.key, time.monotonic()))
            answers = self.script.get(op.key, [])
            out.append(answers.pop(0) if answers else Outcome.done(f"t-{op.key}"))
        return out


async def run(
    tmp_path: Path, target: ScriptedTarget, ops: list[Operation], retry: RetryPolicy
) -> dict[str, OpStatus]:
    j = await SqliteJournal.open(tmp_path / "j.db")
    try:
        lease = await j.acquire_lease("t", "test", 60)
        run_id = await j.create_run(
            "t", trigger="test", actor="test", dry_run=False, targets=["scripted"]
        )
        stored = await j.store_operations(run_id, "t", ops)
        ex = Executor(j, lease, "t", target, TargetContext("t", run_id), retry=retry, seed=1)
        await ex.run([(op, OpStatus.PENDING, 0.0) for op in stored])
        rows = await j.list_operations(run_id, limit=100)
        return {r.op.key: r.status for r in rows}
    finally:
        await j.close()


def op(
    seq: int,
    key: str,
    action: Action = Action.CREATE,
    kind: str = "user",
    parent: str | None = None,
    deps: tuple[int, ...] = (),
) -> Operation:
    return Operation(seq, "scripted", action, kind, key, parent, depends_on=deps)


async def test_retry_after_is_honoured_and_pauses_every_sender(tmp_path: Path) -> None:
    target = ScriptedTarget(
        {"a": [Outcome.retry("throttled", "429", retry_after=0.4)]}, concurrency=1
    )
    status = await run(
        tmp_path,
        target,
        [op(1, "a"), op(2, "b"), op(3, "c")],
        RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
    )
    assert status == {"a": OpStatus.DONE, "b": OpStatus.DONE, "c": OpStatus.DONE}
    first_a = next(t for k, t in target.calls if k == "a")
    later = [t for k, t in target.calls if t > first_a]
    assert later, "nothing was sent after the 429"
    assert min(later) - first_a >= 0.4  # no request of this target before Retry-After


async def test_gives_up_after_max_attempts_and_blocks_dependants(tmp_path: Path) -> None:
    flaky = [Outcome.retry("server_error", "503")] * 10
    target = ScriptedTarget({"klass": list(flaky)})
    ops = [
        op(1, "u1"),
        op(2, "klass", kind="class"),
        op(3, "u1", Action.LINK, "class.member", parent="klass", deps=(1, 2)),
        op(4, "u2"),
    ]
    status = await run(
        tmp_path, target, ops, RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    )
    assert status["klass"] is OpStatus.FAILED
    assert status["u2"] is OpStatus.DONE
    tries = [k for k, _ in target.calls if k == "klass"]
    assert len(tries) == 3
    # the link waits on the failed class: blocked, never sent
    j = await SqliteJournal.open(tmp_path / "j.db")
    try:
        rows = await j.list_operations(1, limit=100)
    finally:
        await j.close()
    link = next(r for r in rows if r.op.action == "link")
    assert link.status == "blocked"
    assert [k for k, _ in target.calls].count("u1") == 1  # the create, never the link


async def test_data_errors_are_dead_at_once_and_fatal_stops_the_rest(tmp_path: Path) -> None:
    target = ScriptedTarget(
        {
            "bad": [Outcome.failed("invalid", "mailNickname contains spaces")],
            "auth": [Outcome.fatal("consent", "admin consent is missing for User.ReadWrite.All")],
        },
        concurrency=1,
    )
    ops = [op(1, "bad"), op(2, "auth"), op(3, "after")]
    status = await run(tmp_path, target, ops, RetryPolicy(3, 0.01, 0.02))
    assert status["bad"] is OpStatus.DEAD
    assert [k for k, _ in target.calls].count("bad") == 1
    assert status["after"] is OpStatus.PENDING  # the run stopped before it


def test_backoff_uses_full_jitter_within_the_cap() -> None:
    import random

    policy = RetryPolicy(max_attempts=8, base_delay_s=1.0, max_delay_s=5.0)
    rng = random.Random(3)
    delays = [policy.delay(n, None, rng) for n in range(1, 9) for _ in range(50)]
    assert all(0 <= d <= 5.0 for d in delays)
    assert max(delays) > 3.0  # the cap is reached, not just the base
    assert min(policy.delay(3, 7.0, rng) for _ in range(20)) >= 7.0


class LanedTarget(ScriptedTarget):
    """Teams-like work in a lane of its own: slow, and bounded to one batch at a time."""

    kinds = (KindSpec("user", 1), KindSpec("class", 2), KindSpec("team", 3))

    def __init__(self) -> None:
        super().__init__({}, concurrency=2)
        self.rate_limit = RateLimit(1000, 1.0, 2, lanes=(("slow", 1),))
        self.in_flight: dict[str, int] = {"": 0, "slow": 0}
        self.most: dict[str, int] = {"": 0, "slow": 0}
        self.spans: dict[tuple[str, str], tuple[float, float]] = {}  # (kind, key)

    def lane(self, op: Operation) -> str:
        return "slow" if op.kind == "team" else ""

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        import asyncio

        lane = self.lane(batch.operations[0])
        self.in_flight[lane] += 1
        self.most[lane] = max(self.most[lane], self.in_flight[lane])
        start = time.monotonic()
        await asyncio.sleep(0.3 if lane == "slow" else 0.01)
        self.in_flight[lane] -= 1
        for o in batch.operations:
            self.spans[(o.kind if o.action is not Action.UNLINK else "unlink", o.key)] = (
                start,
                time.monotonic(),
            )
        return [Outcome.done(f"t-{o.key}") for o in batch.operations]


async def test_slow_work_in_its_own_lane_never_holds_up_the_rest(tmp_path: Path) -> None:
    """Teams take minutes and have their own limit: while they are made, links go on (within
    the creates-and-additions level, each waits only for what it depends on)."""
    target = LanedTarget()
    plan = [
        op(1, "c1", kind="class"),
        op(2, "t1", kind="team", deps=(1,)),
        op(3, "t2", kind="team", deps=(1,)),
        op(4, "u1"),
        *(op(5 + i, f"u{i + 2}") for i in range(6)),
        *(
            op(11 + i, f"u{i + 1}", Action.LINK, "class.member", "c1", deps=(1, 4 + i))
            for i in range(6)
        ),
        op(17, "u7", Action.UNLINK, "class.member", "c1"),
    ]
    statuses = await run(tmp_path, target, plan, RetryPolicy(max_attempts=2))
    assert set(statuses.values()) == {OpStatus.DONE}
    assert target.most == {"": 2, "slow": 1}  # each lane within its bound
    spans = target.spans
    teams_done = max(spans[("team", k)][1] for k in ("t1", "t2"))
    links = [end for (kind, _), (_, end) in spans.items() if kind == "class.member"]
    assert len(links) == 6
    # the links ran while the teams were being made, not after them ...
    assert max(links) < teams_done
    # ... yet the removal still waited until every creation and addition was done
    assert spans[("unlink", "u7")][0] >= max([teams_done, *links])
