"""The executor's scan of ready work, fed when dependencies finish: order and bounds hold.

A pass looks only at the candidates of each lane (engine.ready_scan); these tests pin what
that must not change: a chain of dependencies that spans many windows still runs one link
after another, a lane's cap still holds with hundreds waiting, the dependants of a failed
item are blocked all the way down even when nothing else is left to run, and a retried item
still goes out in seq order.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from pathlib import Path

from engine.executor import RetryPolicy
from engine.plan import OpStatus
from engine.ready_scan import ReadyScan
from engine.target import Batch, Outcome, RateLimit, TargetContext
from tests.engine.test_executor import ScriptedTarget, op, run


class RecordingTarget(ScriptedTarget):
    """Records each batch's seqs when sent and when answered, and the most in flight."""

    def __init__(self, script: dict[str, list[Outcome]], concurrency: int) -> None:
        super().__init__(script, concurrency)
        self.sent: list[int] = []
        self.answered: list[int] = []
        self.in_flight = 0
        self.most = 0
        self.pause = 0.0

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.sent.extend(o.seq for o in batch.operations)
        await asyncio.sleep(self.pause)
        out = await super().apply(batch, ctx)
        self.answered.extend(o.seq for o in batch.operations)
        self.in_flight -= 1
        return out


async def test_a_chain_spanning_many_windows_runs_in_order(tmp_path: Path) -> None:
    # concurrency 1: a window of 400; the chain's links sit far apart among 1,200 others
    links = (op(1 + 300 * i, f"c{i}", deps=(1 + 300 * (i - 1),)) for i in range(1, 5))
    chain = [op(1, "c0"), *links]
    chained = {o.seq for o in chain}
    others = [op(s, f"u{s}") for s in range(1, 1300) if s not in chained]
    target = RecordingTarget({}, concurrency=1)
    statuses = await run(tmp_path, target, sorted(chain + others), RetryPolicy(2, 0.01, 0.02))
    assert set(statuses.values()) == {OpStatus.DONE}
    assert sorted(target.sent) == list(range(1, 1300))  # each sent exactly once
    for before, after in itertools.pairwise(chain):
        assert target.answered.index(before.seq) < target.sent.index(after.seq)


async def test_the_lane_cap_holds_with_hundreds_waiting(tmp_path: Path) -> None:
    target = RecordingTarget({}, concurrency=3)
    target.rate_limit = RateLimit(1000, 1.0, 3)
    target.pause = 0.02  # long enough for the others to be marked and sent meanwhile
    plan = [op(s, f"u{s}", deps=((s - 1,) if s % 7 == 0 else ())) for s in range(1, 601)]
    statuses = await run(tmp_path, target, plan, RetryPolicy(2, 0.01, 0.02))
    assert set(statuses.values()) == {OpStatus.DONE}
    assert 1 < target.most <= 3  # several at once, never more than the cap
    assert sorted(target.sent) == list(range(1, 601))


async def test_a_failed_item_blocks_its_whole_chain_of_dependants(tmp_path: Path) -> None:
    target = RecordingTarget({"root": [Outcome.failed("invalid", "no such school")]}, 1)
    plan = [op(1, "root"), *(op(s, f"d{s}", deps=(s - 1,)) for s in range(2, 8))]
    statuses = await run(tmp_path, target, plan, RetryPolicy(2, 0.01, 0.02))
    assert statuses["root"] is OpStatus.DEAD
    assert {statuses[f"d{s}"] for s in range(2, 8)} == {OpStatus.BLOCKED}
    assert target.sent == [1]


async def test_a_retried_item_waits_its_turn_and_its_dependant_waits_for_it(
    tmp_path: Path,
) -> None:
    target = RecordingTarget({"a": [Outcome.retry("server_error", "503")]}, 1)
    plan = [op(1, "a"), op(2, "b"), op(3, "c", deps=(1,))]
    statuses = await run(tmp_path, target, plan, RetryPolicy(3, 0.01, 0.02))
    assert set(statuses.values()) == {OpStatus.DONE}
    # b may go before or after a's retry (that depends on the retry's wait); c only after it
    assert sorted(target.sent) == [1, 1, 2, 3]
    assert target.sent[-1] == 3


def test_seqs_coming_back_are_scanned_in_seq_order() -> None:
    scan = ReadyScan({"": [5, 1, 9]})
    assert list(scan.candidates("")) == [1, 5, 9]
    scan.settle("")
    for seq in (1, 5, 9):
        scan.handed_out("", seq)
    scan.wait_for(12, "", dependency=9)
    scan.returned("", 5)
    scan.finished(9)
    assert scan.woken
    scan.returned("", 1)
    assert list(scan.candidates("")) == [1, 5, 12]
