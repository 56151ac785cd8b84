"""Windows of ready work cut in whole batch units: a target that declares how many operations
one request carries gets every request full but the last of each group, however many windows
a level spans, and a lane never stalls on what it holds back."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from engine.batch_units import UnitTally
from engine.executor import Executor, RetryPolicy
from engine.journal import SqliteJournal
from engine.model import Snapshot
from engine.plan import Action, Operation, OpStatus
from engine.target import (
    ALONE,
    Batch,
    BatchUnit,
    DesiredState,
    KindSpec,
    LinkSpec,
    Outcome,
    RateLimit,
    TargetBase,
    TargetContext,
)


class BulkTarget(TargetBase):
    """Objects of one kind and action share requests of ``size``; a parent's links share
    requests of ``link_size``. Records every request it was handed."""

    kinds = (KindSpec("user", 1), KindSpec("class", 2), KindSpec("room", 3))
    links = (LinkSpec("class.member", "class", "user"),)

    def __init__(self, size: int, link_size: int = 1, concurrency: int = 2) -> None:
        self.size = size
        self.link_size = link_size
        self.rate_limit = RateLimit(1_000_000, 1.0, concurrency)
        self.name = "bulk"
        self.requests: list[tuple[str, int]] = []  # (group, operations carried)

    def desired(self, snapshot: Snapshot) -> DesiredState:
        return DesiredState({}, {})

    def _group(self, op: Operation) -> str:
        return f"{op.parent}" if op.is_link else f"{op.kind} {op.action}"

    def batch_unit(self, op: Operation) -> BatchUnit:
        size = self.link_size if op.is_link else self.size
        return BatchUnit(self._group(op), size) if size > 1 else ALONE

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        groups: dict[str, list[Operation]] = {}
        for op in ready:
            groups.setdefault(self._group(op), []).append(op)
        out = []
        for ops in groups.values():
            size = self.batch_unit(ops[0]).size
            out += [Batch(tuple(ops[i : i + size])) for i in range(0, len(ops), size)]
        return out

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        self.requests.append((self._group(batch.operations[0]), len(batch.operations)))
        return [Outcome.done(f"t-{op.key}") for op in batch.operations]


async def run(tmp_path: Path, target: TargetBase, ops: list[Operation]) -> Counter[str]:
    j = await SqliteJournal.open(tmp_path / "j.db")
    try:
        lease = await j.acquire_lease("t", "test", 60)
        run_id = await j.create_run(
            "t", trigger="test", actor="test", dry_run=False, targets=[target.name]
        )
        stored = await j.store_operations(run_id, "t", ops)
        ex = Executor(j, lease, "t", target, TargetContext("t", run_id), retry=RetryPolicy(2))
        result = await ex.run([(op, OpStatus.PENDING, 0.0) for op in stored])
        return result.counts
    finally:
        await j.close()


def objects(kinds: dict[str, int]) -> list[Operation]:
    out: list[Operation] = []
    for kind, n in kinds.items():
        out += [
            Operation(len(out) + i + 1, "bulk", Action.CREATE, kind, f"{kind}{i}") for i in range(n)
        ]
    return out


async def test_only_the_last_request_of_each_kind_is_part_full(tmp_path: Path) -> None:
    # four batches in flight, 1,000 operations a request: 9,000 creates span several windows
    # (the old window, 1,600, held one full request and one of 600, and sent both)
    kinds = {"user": 5_000, "class": 2_500, "room": 1_500}
    target = BulkTarget(size=1_000, concurrency=4)
    counts = await run(tmp_path, target, objects(kinds))
    assert counts == {"done": sum(kinds.values())}
    assert len(target.requests) == sum(math.ceil(n / 1_000) for n in kinds.values())  # 10
    part_full = Counter(group for group, n in target.requests if n < 1_000)
    assert part_full == {"class create": 1, "room create": 1}


async def test_a_parent_whose_links_fit_the_window_is_sent_whole(tmp_path: Path) -> None:
    # 14 classes of 900 members, 1,000 members a request: one request per class, although
    # a window (4,000) ends inside a class three times
    ops: list[Operation] = []
    for c in range(14):
        for m in range(900):
            ops.append(
                Operation(len(ops) + 1, "bulk", Action.LINK, "class.member", f"u{m}", f"c{c}")
            )
    target = BulkTarget(size=1, link_size=1_000, concurrency=4)
    counts = await run(tmp_path, target, ops)
    assert counts == {"done": len(ops)}
    assert sorted(target.requests) == sorted((f"c{c}", 900) for c in range(14))


async def test_groups_that_fill_no_unit_in_a_window_are_still_sent(tmp_path: Path) -> None:
    # two kinds interleaved, 1,000 a request, one batch in flight: the first window (1,000)
    # holds 500 of each and no whole request of either; the lane must not stall on them
    ops = [
        Operation(i + 1, "bulk", Action.CREATE, "user" if i % 2 else "class", f"k{i}")
        for i in range(1_800)
    ]
    target = BulkTarget(size=1_000, concurrency=1)
    counts = await run(tmp_path, target, ops)
    assert counts == {"done": 1_800}
    assert sum(n for _, n in target.requests) == 1_800


def test_the_tally_holds_back_the_part_full_last_request_of_groups_that_go_on() -> None:
    ops = objects({"user": 7, "class": 3})
    target = BulkTarget(size=2)
    tally = UnitTally(ops, target.batch_unit, lambda op: "")
    assert tally.largest == 2

    def sizes(ready: list[Operation]) -> list[tuple[str, int]]:
        kept = tally.whole(target.batches(ready), ready)
        return [(b.operations[0].key, len(b.operations)) for b in kept]

    # a window of five users and one class: the users go on past it (their last request,
    # of one, waits), as does the class (its only request is part-full)
    assert sizes(ops[:5] + ops[7:8]) == [("user0", 2), ("user2", 2)]
    for op in ops[:4]:
        tally.handed_out(op)
    # the rest of both: every group whole, its last request part-full
    assert sizes(ops[4:]) == [("user4", 2), ("user6", 1), ("class0", 2), ("class2", 1)]
    # an operation sent and coming back to be retried counts as left again
    tally.handed_out(ops[4])
    tally.returned(ops[4])
    assert sizes(ops[4:7]) == [("user4", 2), ("user6", 1)]
    assert sizes(ops[4:6]) == [("user4", 2)]  # a full request goes; the group goes on
    assert sizes(ops[4:5]) == []  # one of three users: held back while the rest is to come


class PayloadTarget(BulkTarget):
    """Packs a kind's creates by bytes as well: at most 1,000 a request and at most 35,000
    'bytes', each operation weighing what its key says (as SCIM's maxPayloadSize does)."""

    LIMIT = 35_000

    @staticmethod
    def weight(op: Operation) -> int:
        return int(op.key.split("-")[1])

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        groups: dict[str, list[Operation]] = {}
        for op in ready:
            groups.setdefault(self._group(op), []).append(op)
        out: list[Batch] = []
        for ops in groups.values():
            chunk: list[Operation] = []
            used = 0
            for op in ops:
                if chunk and (len(chunk) >= self.size or used + self.weight(op) > self.LIMIT):
                    out.append(Batch(tuple(chunk)))
                    chunk, used = [], 0
                chunk.append(op)
                used += self.weight(op)
            out.append(Batch(tuple(chunk)))
        return out

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        assert sum(self.weight(op) for op in batch.operations) <= self.LIMIT
        return await super().apply(batch, ctx)


async def test_requests_packed_by_bytes_are_full_but_the_last_of_each_kind(
    tmp_path: Path,
) -> None:
    # 6,000 users of 7 to 13 'bytes' (about 3,000 a request by bytes, 1,000 by count: so
    # 1,000 a request) and 3,000 classes of 40 to 60 (about 600 a request, by bytes)
    ops: list[Operation] = []
    for kind, n, low in (("user", 6_000, 7), ("class", 3_000, 40)):
        for i in range(n):
            weight = low + (i * 7) % (low // 2 * 2 + 1)
            ops.append(Operation(len(ops) + 1, "bulk", Action.CREATE, kind, f"{i}-{weight}"))
    target = PayloadTarget(size=1_000, concurrency=4)
    counts = await run(tmp_path, target, ops)
    assert counts == {"done": len(ops)}
    # what packing each kind whole, in one go, gives: the fewest requests this packing makes
    whole = len(target.batches(ops))
    assert len(target.requests) == whole
    by_kind = Counter(group for group, _ in target.requests)
    assert by_kind["user create"] == 6
    assert by_kind["class create"] > 3  # bound by bytes, not by count
