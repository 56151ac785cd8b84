"""The executor: applies a stored plan to one target, safely.

Bounded concurrency per lane, retries classified by reason with exponential backoff and full
jitter, a service's Retry-After honoured by every sender of the target, an in-flight mark
written before each request. Pacing writes at the service's limit is the target's (its client
knows what each request costs; docs/architecture.md, "Who retries what"). A write in doubt (a
create answered with a 5xx or a timeout, or an item in flight when a run stopped) is read back
from the target before it is sent again, and sent again only once the target's consistency
window has passed with nothing found. An item that keeps failing becomes a failed item with its
reason, the items that depend on it are blocked, and the run goes on. A tenant-level error
(auth, consent) stops the run with one clear message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from engine import request_ids
from engine.batch_units import UnitTally
from engine.faults import crash_point
from engine.journal import Journal, Lease, OutcomeRow
from engine.plan import Action, Operation, OpStatus, Phase
from engine.ratelimit import PauseGate
from engine.ready_scan import ReadyScan
from engine.target import Batch, Outcome, OutcomeKind, Target, TargetContext
from engine.views import Progress

FINAL = frozenset(
    {
        OpStatus.DONE,
        OpStatus.FAILED,
        OpStatus.DEAD,
        OpStatus.BLOCKED,
        OpStatus.SKIPPED,
        OpStatus.CANCELLED,
    }
)
BAD = frozenset(
    {OpStatus.FAILED, OpStatus.DEAD, OpStatus.BLOCKED, OpStatus.SKIPPED, OpStatus.CANCELLED}
)
OPEN = frozenset({OpStatus.PENDING, OpStatus.IN_FLIGHT})  # in flight: in doubt, read back first
MAKES = frozenset({Action.CREATE, Action.RESTORE})
"""Actions that may make a new object: sent twice, they may make it twice."""
IN_DOUBT = "in_doubt"  # reason of an item whose write may have taken effect
ADOPTED = "adopted"  # reason of an item found done by reading the target, not by an answer
LOOK_UPS_AT_ONCE = 8


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter (AWS style), but never sooner than the service's Retry-After."""
        jitter = rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1)))
        if retry_after is not None:
            return max(retry_after, 0.0) + min(jitter, 0.25)
        return jitter


@dataclass
class ExecResult:
    counts: Counter[str] = field(default_factory=Counter)  # status -> n
    fatal: str | None = None
    findings: list[tuple[Operation, Outcome]] = field(default_factory=list)


class Executor:
    """Applies one target's operations of one run."""

    def __init__(
        self,
        journal: Journal,
        lease: Lease,
        tenant: str,
        target: Target,
        ctx: TargetContext,
        *,
        retry: RetryPolicy | None = None,
        progress: Callable[[Progress], None] | None = None,
        emit: Callable[[str, str], None] | None = None,
        lease_ttl: float = 300.0,
        seed: int | None = None,
    ) -> None:
        self.journal = journal
        self.lease = lease
        self.tenant = tenant
        self.target = target
        self.ctx = ctx
        self.retry = retry or RetryPolicy()
        self.gate = PauseGate()
        self.max_concurrency = max(1, target.rate_limit.max_concurrency)
        self.progress = progress
        self.emit = emit or (lambda level, msg: None)
        self.lease_ttl = lease_ttl
        self._rng = random.Random(seed)
        self._rank = {k.name: k.rank for k in target.kinds}
        self._link_specs = {s.name: (s.parent_kind, s.child_kind) for s in target.links}
        self._renewed = time.monotonic()
        self.window_s = max(0.0, float(target.consistency_window_s))
        self._doubt: dict[int, float] = {}  # seq -> when it went in doubt (epoch seconds)
        self._unread: dict[int, int] = {}  # seq -> read-backs that could not read the target
        self._parked: set[int] = set()  # in doubt and unreadable: left for the next run
        self._whole = bool(getattr(target, "whole_set", False))

    def _level(self, op: Operation) -> tuple[int, int]:
        """Operations of one level run together, levels one after another. Creates, updates
        and link additions form one level: each waits only for what it depends on (a link for
        its parent and child), so slow creates of one kind never idle the writes of another.
        Removals come after all additions, suspensions and archives next, deletions last (in
        reverse creation order). A target that delivers a whole set has one level."""
        if self._whole:
            return (0, 0)
        if op.phase.value <= Phase.LINKS_ADD.value:
            return (Phase.LINKS_ADD.value, 0)
        r = self._rank.get(op.kind, 0)
        return (op.phase.value, -r if op.action is Action.DELETE else r)

    def _lane(self, op: Operation) -> str:
        return self.target.lane(op)

    async def run(self, rows: Sequence[tuple[Operation, OpStatus, float]]) -> ExecResult:
        result = ExecResult()
        status: dict[int, OpStatus] = {}
        not_before: dict[int, float] = {}
        ops: dict[int, Operation] = {}
        for op, st, nb in rows:
            ops[op.seq] = op
            status[op.seq] = st
            not_before[op.seq] = nb
        total = len(ops)
        self._finished = sum(1 for st in status.values() if st in FINAL)

        # Items still in flight when a run stopped, or left in doubt, are read back from the
        # target before they are sent again; an item that may have made an object waits out the
        # target's window, counted from its last mark.
        in_flight = [ops[s] for s, st in status.items() if st is OpStatus.IN_FLIGHT]
        if in_flight:
            self.emit(
                "warning",
                f"{len(in_flight)} item(s) were in flight or in doubt when the last run "
                "stopped; reading them back from the target before sending them again",
            )
            since = await self._marked_at([op.id for op in in_flight])
            for op in in_flight:
                self._doubt[op.seq] = since.get(op.id, time.time()) if op.action in MAKES else 0.0

        levels = sorted({self._level(op) for op in ops.values()})
        for level in levels:
            pending = [s for s in sorted(ops) if self._level(ops[s]) == level and status[s] in OPEN]
            if not pending:
                continue
            fatal = await self._run_level(pending, ops, status, not_before, result, total)
            if fatal:
                result.fatal = fatal
                break
        result.counts = Counter(st.value for st in status.values())
        return result

    async def _run_level(
        self,
        pending_seqs: list[int],
        ops: dict[int, Operation],
        status: dict[int, OpStatus],
        not_before: dict[int, float],
        result: ExecResult,
        total: int,
    ) -> str | None:
        # one ordered set of seqs still to do per lane, each scanned and bounded on its own
        lanes: dict[str, dict[int, None]] = {}
        lane_of: dict[int, str] = {}
        for seq in pending_seqs:
            lane_of[seq] = lane = self._lane(ops[seq])
            lanes.setdefault(lane, {})[seq] = None
        # what a pass scans: the seqs of each lane neither handed out nor waiting for an
        # unfinished dependency, so a pass costs what it may hand out, not all that waits
        scan = ReadyScan(lanes)
        caps = {"": self.max_concurrency, **dict(self.target.rate_limit.lanes)}
        in_lane: dict[str, int] = dict.fromkeys(lanes, 0)
        tasks: dict[asyncio.Task[list[OutcomeRow]], tuple[Batch, str]] = {}
        fatal: str | None = None
        # what of each batch group is left to hand out, so a window that ends inside a group
        # is cut to whole requests of it (engine.batch_units); a whole set is one window
        tally = UnitTally(
            () if self._whole else (ops[s] for s in pending_seqs),
            self.target.batch_unit,
            self._lane,
        )
        # a window holds what the lane may have in flight, in whole units of the largest group
        window = (
            len(pending_seqs) + 1 if self._whole else self.max_concurrency * max(400, tally.largest)
        )
        try:
            while any(lanes.values()) or tasks:
                await self._renew_if_due()
                now = time.time()
                blocked: list[OutcomeRow] = []
                soonest: float | None = None
                scan.begin_pass()
                for lane in lanes:
                    ready: list[Operation] = []
                    looks: list[Operation] = []
                    later = False  # an operation of the lane waits for its retry time
                    cut = False  # the window ended before the lane's waiting work did
                    if fatal is not None or in_lane[lane] >= caps.get(lane, 1):
                        continue
                    for seq in scan.candidates(lane):
                        op = ops[seq]
                        dep_states = [status.get(d) for d in op.depends_on]
                        if any(d in BAD for d in dep_states):
                            status[seq] = OpStatus.BLOCKED
                            scan.finished(seq)
                            blocked.append(
                                OutcomeRow(
                                    op,
                                    OpStatus.BLOCKED,
                                    "dependency_failed",
                                    _waits_for(op, status, ops),
                                    None,
                                    0.0,
                                    "blocked",
                                )
                            )
                            continue
                        unmet = next(
                            (
                                d
                                for d, st in zip(op.depends_on, dep_states, strict=True)
                                if st not in (OpStatus.DONE, None)
                            ),
                            None,
                        )
                        if unmet is not None:
                            scan.wait_for(seq, lane, unmet)
                            continue
                        nb = not_before.get(seq, 0.0)
                        if nb > now:
                            soonest = nb if soonest is None else min(soonest, nb)
                            later = True
                            continue
                        (looks if seq in self._doubt else ready).append(op)
                        if len(ready) + len(looks) >= window:
                            cut = True
                            break
                    if self._whole and later:
                        ready = []  # a whole set goes out once all of it may be sent again
                    scan.settle(lane)
                    if looks:
                        for op in looks:
                            scan.handed_out(lane, op.seq)
                            tally.handed_out(op)
                        task = asyncio.create_task(self._look_up(looks))
                        tasks[task] = (Batch(tuple(looks), 0), lane)
                        in_lane[lane] += 1
                    batches = self.target.batches(ready) if ready else ()
                    if cut and batches:
                        # a group that goes on past the window keeps its part-full last
                        # request for the next one; all of them go when that leaves nothing
                        # to send and nothing of the lane is in flight
                        batches = tally.whole(batches, ready) or ([] if in_lane[lane] else batches)
                    for batch in batches:
                        if in_lane[lane] >= caps.get(lane, 1):
                            break
                        for op in batch.operations:
                            scan.handed_out(lane, op.seq)
                            tally.handed_out(op)
                        task = asyncio.create_task(self._send(batch))
                        tasks[task] = (batch, lane)
                        in_lane[lane] += 1
                if blocked:
                    self._finished += len(blocked)
                    for row in blocked:
                        lanes[lane_of[row.op.seq]].pop(row.op.seq, None)
                        scan.handed_out(lane_of[row.op.seq], row.op.seq)
                        tally.handed_out(row.op)
                    await self.journal.record_outcomes(
                        self.lease, self.tenant, blocked, self._link_specs
                    )
                if not tasks:
                    if fatal is not None or not any(lanes.values()):
                        break
                    if scan.woken:
                        continue  # dependents of an item just blocked: block them too
                    if soonest is None:
                        # Nothing ready, nothing running, nothing scheduled: dependencies that
                        # never resolve (outside this level). Leave them pending.
                        break
                    await asyncio.sleep(max(0.0, min(soonest - time.time(), 5.0)))
                    continue
                timeout = None if soonest is None else max(0.01, soonest - time.time())
                done, _ = await asyncio.wait(
                    tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    _, lane = tasks.pop(task)
                    in_lane[lane] -= 1
                    rows = task.result()
                    for row in rows:
                        seq = row.op.seq
                        ops[seq] = row.op  # carries the attempt count
                        status[seq] = row.status
                        not_before[seq] = row.not_before
                        if row.status in FINAL:
                            lanes[lane].pop(seq, None)
                            scan.finished(seq)
                            self._finished += 1
                        elif seq in self._parked:  # stays in flight, for the next run
                            lanes[lane].pop(seq, None)
                        else:
                            tally.returned(row.op)  # waits to be sent or read back again
                            scan.returned(lane, seq)
                        if row.outcome == "fatal" and fatal is None:
                            fatal = row.message
                        if row.status is OpStatus.DEAD:
                            result.findings.append(
                                (row.op, Outcome.failed(row.reason, row.message))
                            )
                    crash_point("before_record")
                    # a look-up that found nothing yet changes nothing the journal holds
                    await self.journal.record_outcomes(
                        self.lease, self.tenant, [r for r in rows if r.outcome], self._link_specs
                    )
                    crash_point("after_record")
                    self._tick(status, total)
        finally:
            for task in tasks:
                task.cancel()
        return fatal

    async def _send(self, batch: Batch) -> list[OutcomeRow]:
        ops = batch.operations
        await self.gate.wait()
        marked = [op._replace(attempts=op.attempts + 1) for op in ops]
        await self.journal.mark_in_flight(self.lease, marked)
        crash_point("after_mark")
        with request_ids.collecting() as answers:
            try:
                outcomes = list(await self.target.apply(Batch(tuple(marked), batch.cost), self.ctx))
            except Exception as exc:  # an adapter bug or an unclassified transport error
                outcomes = [Outcome.retry("error", f"{type(exc).__name__}: {exc}")] * len(marked)
        crash_point("after_apply")
        if len(outcomes) != len(marked):
            outcomes = [
                Outcome.retry(
                    "error", "the target answered the wrong number of outcomes for a batch"
                )
            ] * len(marked)
        rows = []
        alone = len(marked) == 1
        for op, outcome in zip(marked, outcomes, strict=True):
            row = self._classify(op, outcome)
            if outcome.kind is not OutcomeKind.DONE:  # what a ticket with the vendor quotes
                rid = answers.for_operation(op.seq, alone=alone)
                row = replace(row, request_id=rid) if rid else row
            rows.append(row)
        return rows

    def _classify(self, op: Operation, outcome: Outcome) -> OutcomeRow:
        kind = outcome.kind
        if kind is OutcomeKind.DONE:
            if not op.is_link:
                self.ctx.learn(op.kind, op.key, outcome.target_id or op.target_id)
            return OutcomeRow(
                op,
                OpStatus.DONE,
                ADOPTED if outcome.adopted else "",
                "",
                outcome.target_id,
                0.0,
                "done",
            )
        if kind is OutcomeKind.FAILED:
            self.emit("error", f"{op.describe()}: {outcome.message}")
            return OutcomeRow(
                op, OpStatus.DEAD, outcome.reason, outcome.message, None, 0.0, "failed"
            )
        if kind is OutcomeKind.FATAL:
            self.emit("error", outcome.message)
            return OutcomeRow(
                op, OpStatus.PENDING, outcome.reason, outcome.message, None, 0.0, "fatal"
            )
        if kind is OutcomeKind.IN_DOUBT:
            # it may have taken effect: it stays in flight and is read back, first soon, then
            # once the target's window has passed; only then may it be sent again
            now = time.time()
            self._doubt[op.seq] = now
            first = min(self.window_s, self.retry.delay(op.attempts, None, self._rng))
            return OutcomeRow(
                op,
                OpStatus.IN_FLIGHT,
                IN_DOUBT,
                f"{outcome.reason}: {outcome.message}" if outcome.message else outcome.reason,
                None,
                now + first,
                "in_doubt",
            )
        # retry
        if outcome.retry_after is not None and outcome.reason == "throttled":
            self.gate.pause(outcome.retry_after)
        if op.attempts >= self.retry.max_attempts:
            self.emit(
                "error",
                f"{op.describe()}: gave up after {op.attempts} attempts "
                f"({outcome.reason}: {outcome.message})",
            )
            return OutcomeRow(  # the last attempt failed: its outcome says so, not "retry"
                op,
                OpStatus.FAILED,
                outcome.reason,
                outcome.message or outcome.reason,
                None,
                0.0,
                "failed",
            )
        delay = self.retry.delay(op.attempts, outcome.retry_after, self._rng)
        return OutcomeRow(
            op,
            OpStatus.PENDING,
            outcome.reason,
            outcome.message,
            None,
            time.time() + delay,
            "retry",
        )

    async def _look_up(self, looks: Sequence[Operation]) -> list[OutcomeRow]:
        """Read items in doubt back from the target, a few at a time."""
        gate = asyncio.Semaphore(LOOK_UPS_AT_ONCE)

        async def one(op: Operation) -> OutcomeRow:
            async with gate:
                try:
                    found = await self.target.read_back(op, self.ctx)
                except Exception as exc:  # an adapter bug or an unclassified transport error
                    found = Outcome.retry("error", f"{type(exc).__name__}: {exc}")
            return self._after_look_up(op, found)

        return list(await asyncio.gather(*(one(op) for op in looks)))

    def _after_look_up(self, op: Operation, found: Outcome | None) -> OutcomeRow:
        """What a read-back decides. Rows without an ``outcome`` only change the schedule and
        are not written: the journal keeps the item in flight, to be read back again."""
        now = time.time()
        since = self._doubt.get(op.seq, 0.0)
        if found is not None and found.kind is OutcomeKind.DONE:
            self._doubt.pop(op.seq, None)
            if not op.is_link:
                self.ctx.learn(op.kind, op.key, found.target_id or op.target_id)
            return OutcomeRow(
                op,
                OpStatus.DONE,
                ADOPTED,
                "read back from the target: the write had taken effect",
                found.target_id,
                0.0,
                "done",
            )
        if found is not None and found.kind is OutcomeKind.FATAL:
            self.emit("error", found.message)
            return OutcomeRow(
                op, OpStatus.IN_FLIGHT, found.reason, found.message, None, 0.0, "fatal"
            )
        if found is not None:  # the target could not be read: nothing is known, ask again
            self._unread[op.seq] = tries = self._unread.get(op.seq, 0) + 1
            if tries >= self.retry.max_attempts:  # left in doubt: the next run reads it back
                self._parked.add(op.seq)
                self.emit(
                    "warning",
                    f"{op.describe()}: left in doubt; the target could not be read back "
                    f"({found.reason}: {found.message})",
                )
            delay = self.retry.delay(tries, found.retry_after, self._rng)
            return OutcomeRow(op, OpStatus.IN_FLIGHT, IN_DOUBT, "", None, now + delay, "")
        if now < since + self.window_s:  # not found, but a fresh object may still be hidden
            return OutcomeRow(op, OpStatus.IN_FLIGHT, IN_DOUBT, "", None, since + self.window_s, "")
        self._doubt.pop(op.seq, None)
        if op.attempts >= self.retry.max_attempts:
            message = (
                f"gave up after {op.attempts} attempts; the last got no answer and its "
                "effect is not in the target"
            )
            self.emit("error", f"{op.describe()}: {message}")
            return OutcomeRow(op, OpStatus.FAILED, "not_applied", message, None, 0.0, "failed")
        return OutcomeRow(op, OpStatus.PENDING, "not_applied", "", None, 0.0, "")

    async def _marked_at(self, op_ids: Sequence[int]) -> dict[int, float]:
        """When each item was last marked or answered (its row's ``updated_at``)."""
        out: dict[int, float] = {}
        for i in range(0, len(op_ids), 500):
            for rec in await self.journal.get_operations(op_ids[i : i + 500]):
                if rec.updated_at is not None:
                    out[rec.op.id] = rec.updated_at.timestamp()
        return out

    async def _renew_if_due(self) -> None:
        if time.monotonic() - self._renewed > self.lease_ttl / 3:
            await self.journal.renew_lease(self.lease, self.lease_ttl)
            self._renewed = time.monotonic()

    def _tick(self, status: dict[int, OpStatus], total: int) -> None:
        if self.progress is not None:
            self.progress(Progress("apply", self.target_name, self._finished, total))

    @property
    def target_name(self) -> str:
        return self.target.name


def utcnow() -> datetime:
    return datetime.now(UTC)


def _waits_for(op: Operation, status: Mapping[int, OpStatus], ops: Mapping[int, Operation]) -> str:
    """Why a blocked item waits, naming the item that failed, so an operator sees which one
    to fix or retry (a course waits on its owner's account, a link on its class)."""
    failed = next((ops.get(d) for d in op.depends_on if status.get(d) in BAD), None)
    what = f"'{failed.describe()}'" if failed is not None else "an item"
    return f"waits for {what}, which failed: fix or retry that one first"
