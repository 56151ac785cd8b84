"""The conformance cases: plain async functions every target must pass through the engine's
real paths (ops, runner, executor, a real SQLite journal; a crash run is a killed process).

Each case takes a :class:`Bench` over the target's harness and raises
:class:`ConformanceFailure` naming the promise it broke. ``CASES`` lists them; a harness
declares a case (by its ``family``) inapplicable with a reason instead of passing it.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from engine.model import GroupType, MemberRole, SchoolRoleType, Snapshot
from engine.testing.builder import tiny_snapshot
from engine.testing.conformance.bench import Bench
from engine.testing.conformance.harness import (
    ConformanceFailure,
    Fault,
    TrueState,
    differences,
)
from engine.views import RunSummary

CRASH_POINTS = (
    "after_plan:1",
    "after_mark:2",
    "after_apply:2",
    "before_record:2",
    "after_record:3",
)
"""Every named crash point of the runner and executor (engine.faults), at a pass that a first
sync of the municipality reaches."""

IN_DOUBT_FAULTS = (Fault.SERVER_ERROR, Fault.SERVER_ERROR_APPLIED, Fault.TIMEOUT)


def municipality(today: date | None = None) -> Snapshot:
    """The synthetic municipality every target syncs: two schools, 40 pupils, 4 teachers,
    a klass and three teaching groups per school, running around ``today``."""
    return tiny_snapshot(
        pupils=40, teachers=4, as_of=today or date.today(), protected_share=0.0, seed=11
    )


# ------------------------------------------------------------------------ checks
def fail(promise: str, detail: str) -> ConformanceFailure:
    return ConformanceFailure(f"{promise}: {detail}")


def no_duplicates(truth: TrueState) -> None:
    dups = truth.duplicates()
    if dups:
        shown = ", ".join(f"{k} x{n}" for k, n in sorted(dups.items())[:8])
        raise fail(
            "no duplicates", f"{len(dups)} natural key(s) with more than one object: {shown}"
        )


def equals_desired(bench: Bench, snap: Snapshot, truth: TrueState | None = None) -> None:
    diff = differences(truth or bench.harness.truth(), bench.harness.wanted(snap))
    if diff:
        raise fail(
            "target equals the desired state", f"{len(diff)} difference(s): " + "; ".join(diff[:12])
        )


def done_items_present(bench: Bench, truth: TrueState) -> None:
    """No false success: the last item the journal calls done for each object or link is so."""
    last: dict[tuple[str, str, str | None], str] = {}
    for kind, key, parent, action in bench.done_operations():
        last[(kind, key, parent)] = action
    wrong = []
    for (kind, key, parent), action in sorted(last.items(), key=str):
        if parent is not None:
            if not any(parent in objs for objs in truth.live.values()):
                continue  # a retired parent keeps or drops its links as its target does
            linked = (parent, key) in truth.links.get(kind, frozenset())
            ok = linked == (action == "link")
        elif action in ("create", "update", "restore"):
            ok = key in truth.live.get(kind, {})
        elif action == "suspend":
            ok = key in truth.suspended.get(kind, frozenset())
        elif action == "archive":
            ok = key not in truth.live.get(kind, {})
        elif action == "delete":
            ok = key not in truth.present.get(kind, frozenset())
        else:
            ok = True
        if not ok:
            wrong.append(f"{action} {kind} {parent + '/' if parent else ''}{key}")
    if wrong:
        raise fail(
            "no false success",
            "done in the journal, not so in the target: " + ", ".join(wrong[:10]),
        )


def expect_run(run: RunSummary, status: str, promise: str) -> RunSummary:
    if run.status != status:
        raise fail(
            promise, f"run {run.id} is {run.status}, not {status} ({run.counts}; {run.error})"
        )
    return run


async def converged(bench: Bench, snap: Snapshot) -> None:
    """The target equals the desired state, holds no duplicate, the journal is settled and
    clean, and a dry run plans nothing more."""
    truth = bench.harness.truth()
    no_duplicates(truth)
    equals_desired(bench, snap, truth)
    done_items_present(bench, truth)
    problems = bench.journal_problems()
    if problems:
        raise fail("a settled journal", "; ".join(problems))
    again = await bench.sync(dry_run=True)
    if again.counts.get("planned", 0):
        raise fail("nothing left to do", f"a dry run after convergence plans {again.counts}")


async def settle(bench: Bench, snap: Snapshot, *, runs: int = 3) -> None:
    """With faults stopped, at most ``runs`` runs reach the desired state."""
    bench.harness.faults({})
    last = None
    for _ in range(runs):
        last = await bench.sync()
        if last.status == "succeeded":
            break
    assert last is not None
    expect_run(last, "succeeded", f"converge within {runs} runs once faults stop")
    await converged(bench, snap)


# ------------------------------------------------------------------------ changes to a snapshot
def pupils(snap: Snapshot) -> list[str]:
    return sorted(r.person_id for r in snap.school_roles if r.role is SchoolRoleType.STUDENT)


def renamed(snap: Snapshot) -> Snapshot:
    """A pupil and a teaching group with new names: an update of each."""
    pid = pupils(snap)[0]
    persons = dict(snap.persons)
    persons[pid] = replace(persons[pid], given_name=persons[pid].given_name + "-Li")
    gid = sorted(g.id for g in snap.groups.values() if g.group_type is GroupType.UNDERVISNING)[0]
    groups = dict(snap.groups)
    groups[gid] = replace(groups[gid], name=groups[gid].name + " (ny)")
    return replace(snap, persons=persons, groups=groups)


def moved(snap: Snapshot) -> Snapshot:
    """A pupil leaves one teaching group and joins another of the same school: one unlink and
    one link."""
    teaching = {g.id: g for g in snap.groups.values() if g.group_type is GroupType.UNDERVISNING}
    for m in sorted(snap.memberships, key=lambda m: (m.person_id, m.group_id)):
        if m.group_id not in teaching or m.role is not MemberRole.STUDENT:
            continue
        mine = {x.group_id for x in snap.memberships if x.person_id == m.person_id}
        other = next(
            (
                g
                for g in sorted(teaching)
                if g not in mine and teaching[g].school_id == teaching[m.group_id].school_id
            ),
            None,
        )
        if other is None:
            continue
        kept = tuple(x for x in snap.memberships if x != m)
        return replace(snap, memberships=(*kept, m._replace(group_id=other)))
    raise ValueError("the municipality has no pupil to move")


def one_leaver(snap: Snapshot) -> tuple[Snapshot, str]:
    leaver = pupils(snap)[-1]
    return snap.without(persons={leaver}), leaver


def a_term_later(snap: Snapshot) -> Snapshot:
    return moved(renamed(snap))


# ------------------------------------------------------------------------ the cases
async def idempotent_create(bench: Bench) -> None:
    """A first sync makes every object once; a second plans and writes nothing."""
    snap = bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    second = expect_run(await bench.sync(), "succeeded", "a second sync succeeds")
    if second.counts.get("planned", 0):
        raise fail("idempotent create", f"a second sync of the same data planned {second.counts}")
    await converged(bench, snap)


async def adopt_existing(bench: Bench) -> None:
    """An object made by hand before ESS knew it is adopted by natural key, not made twice."""
    snap = bench.source(municipality())
    made = bench.harness.make_by_hand(snap)
    if not bench.harness.truth().copies.get(made):
        raise fail("adopt an existing object", f"the harness made {made}, the target lacks it")
    expect_run(await bench.sync(), "succeeded", "a sync over an object made by hand succeeds")
    await converged(bench, snap)


async def update(bench: Bench) -> None:
    """Changed names reach the target as updates of the same objects."""
    bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    before = bench.harness.truth()
    snap = bench.source(renamed(municipality()))
    run = expect_run(await bench.sync(), "succeeded", "a sync of renamed records succeeds")
    if not run.counts.get("planned", 0):
        raise fail("update", "renamed records planned nothing")
    after = bench.harness.truth()
    changed = [
        (kind, key)
        for kind, objs in after.live.items()
        for key, attrs in objs.items()
        if key in before.live.get(kind, {}) and before.live[kind][key] != attrs
    ]
    if not changed:
        raise fail("update", "no live object's attributes changed in the target")
    await converged(bench, snap)


async def link_unlink(bench: Bench) -> None:
    """A pupil who changes teaching group is unlinked from one and linked to the other."""
    first = bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    snap = bench.source(moved(first))
    run = expect_run(await bench.sync(), "succeeded", "a sync of a moved pupil succeeds")
    if not run.counts.get("planned", 0):
        raise fail("link and unlink", "a moved pupil planned nothing")
    await converged(bench, snap)


async def suspend_retire(bench: Bench) -> None:
    """A pupil who leaves is suspended (not deleted, not left live) and unlinked; a teaching
    group that ends is retired."""
    first = bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    left, leaver = one_leaver(first)
    gone = sorted(g.id for g in first.groups.values() if g.group_type is GroupType.UNDERVISNING)[-1]
    snap = bench.source(left.without(groups={gone}))
    expect_run(await bench.sync(), "succeeded", "a sync with a leaver succeeds")
    truth = bench.harness.truth()
    users = [k for k in truth.present if leaver in truth.present[k]]
    if not users:
        raise fail("suspend, not delete", f"the leaver {leaver} is gone from the target")
    if not any(leaver in truth.suspended.get(k, frozenset()) for k in users):
        raise fail("suspend", f"the leaver {leaver} is not suspended")
    await converged(bench, snap)


async def crash_recovery(bench: Bench, point: str) -> None:
    """A run killed at a named crash point is taken over by the next, which converges with no
    duplicate, no lost item and an intact journal."""
    snap = bench.source(municipality())
    crashed = bench.sync_in_child(point)
    if crashed.returncode != -signal.SIGKILL:
        raise fail(
            f"crash at {point}",
            f"the run was not killed there (exit {crashed.returncode}): {crashed.stderr[-400:]}",
        )
    again = bench.sync_in_child()
    if again.returncode != 0 or "succeeded" not in again.stdout:
        raise fail(f"restart after a crash at {point}", f"{again.stdout} {again.stderr[-400:]}")
    await converged(bench, snap)
    later = bench.source(a_term_later(snap))
    expect_run(await bench.sync(), "succeeded", f"the next term after a crash at {point}")
    await converged(bench, later)


async def drift_repaired(bench: Bench) -> None:
    """A change made by hand in the target is seen by the next run, reported in its log and
    put right (the default policy, ``drift = "repair"``)."""
    snap = bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    drift = bench.harness.drift(snap)
    if not differences(bench.harness.truth(), bench.harness.wanted(snap)):
        raise fail("drift", f"the harness's drift ({drift.description}) changed nothing")
    run = expect_run(await bench.sync(), "succeeded", "a sync after drift succeeds")
    if not await bench.log(run.id, "drift found"):
        raise fail("drift reported", f"run {run.id}'s log says nothing of {drift.description}")
    try:
        await converged(bench, snap)
    except ConformanceFailure as exc:
        raise fail("drift reported and repaired", f"{drift.description}: {exc}") from exc


async def drift_reported_only(bench: Bench) -> None:
    """With ``drift = "report"`` a change made by hand is reported and left as it is."""
    bench.policy["drift"] = "report"
    snap = bench.source(municipality())
    expect_run(await bench.sync(), "succeeded", "a first sync succeeds")
    drift = bench.harness.drift(snap)
    changed = differences(bench.harness.truth(), bench.harness.wanted(snap))
    run = expect_run(await bench.sync(), "succeeded", "a sync after drift succeeds")
    if not await bench.log(run.id, "drift found"):
        raise fail("drift reported", f"run {run.id}'s log says nothing of {drift.description}")
    if run.counts.get("planned", 0):
        raise fail("drift only reported", f"the run planned {run.counts} to undo it")
    left = differences(bench.harness.truth(), bench.harness.wanted(snap))
    if left != changed:
        raise fail("drift only reported", f"the target changed: {changed} became {left}")


async def throttle_honoured(bench: Bench) -> None:
    """429s are waited out for their Retry-After: no write is sent again before it ends."""
    snap = bench.source(municipality())
    bench.harness.faults({Fault.THROTTLE: 0.25})
    await bench.sync()
    throttled, early = bench.harness.throttle_record()
    if not throttled:
        raise fail("a 429 honoured", "the target sent no 429: the fault was never made")
    if early:
        raise fail("a 429 honoured", f"{early} write(s) sent again before their Retry-After")
    await settle(bench, snap)


async def tenant_error_stops(bench: Bench) -> None:
    """A tenant-level refusal (revoked consent or secret, no permission) stops the run with one
    message and applies nothing; once it is lifted, the next run converges."""
    snap = bench.source(municipality())
    bench.harness.faults({Fault.TENANT: 1.0})
    run = await bench.sync()
    if run.status != "failed" or not run.error:
        raise fail("a tenant-level error stops the run", f"run is {run.status}: {run.counts}")
    if run.counts.get("done", 0):
        raise fail("a tenant-level error stops the run", f"{run.counts['done']} item(s) done")
    if any(bench.harness.truth().live.values()):
        raise fail("a tenant-level error applies nothing", "the target holds objects")
    await settle(bench, snap)


async def in_doubt(bench: Bench, fault: Fault) -> None:
    """Writes met by ``fault`` (a 5xx applied or not, a timeout) make no duplicate and no false
    success, and converge once the faults stop."""
    snap = bench.source(municipality())
    bench.harness.faults({fault: 0.3}, seed=3)
    await bench.sync()
    truth = bench.harness.truth()
    no_duplicates(truth)
    done_items_present(bench, truth)
    await settle(bench, snap)


def fault_mix(rate: float) -> Mapping[Fault, float]:
    """``rate`` shared among every fault a write can meet."""
    return {
        Fault.SERVER_ERROR: rate * 0.3,
        Fault.SERVER_ERROR_APPLIED: rate * 0.3,
        Fault.TIMEOUT: rate * 0.2,
        Fault.THROTTLE: rate * 0.2,
    }


async def fault_matrix(bench: Bench, rate: float) -> None:
    """A first sync and a term's changes under ``rate`` faults of every kind: no duplicate, no
    false success at any point, and convergence within three runs once faults stop."""
    snap = bench.source(municipality())
    bench.harness.faults(fault_mix(rate), seed=int(rate * 100))
    await bench.sync()
    truth = bench.harness.truth()
    no_duplicates(truth)
    done_items_present(bench, truth)
    snap = bench.source(a_term_later(snap))
    await bench.sync()
    truth = bench.harness.truth()
    no_duplicates(truth)
    done_items_present(bench, truth)
    await settle(bench, snap)


# ------------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Case:
    """One case as the suite runs it: ``family`` is the name a harness declares inapplicable."""

    id: str
    family: str
    run: Callable[[Bench], Awaitable[None]]
    long: bool = False  # left to the ``conformance`` marker's long runs


def _bind(
    fn: Callable[[Bench, str], Awaitable[None]], arg: str
) -> Callable[[Bench], Awaitable[None]]:
    async def bound(bench: Bench) -> None:
        await fn(bench, arg)

    return bound


def _bind_fault(fault: Fault) -> Callable[[Bench], Awaitable[None]]:
    async def bound(bench: Bench) -> None:
        await in_doubt(bench, fault)

    return bound


def _bind_rate(rate: float) -> Callable[[Bench], Awaitable[None]]:
    async def bound(bench: Bench) -> None:
        await fault_matrix(bench, rate)

    return bound


CASES: tuple[Case, ...] = (
    Case("idempotent_create", "idempotent_create", idempotent_create),
    Case("adopt_existing", "adopt_existing", adopt_existing),
    Case("update", "update", update),
    Case("link_unlink", "link_unlink", link_unlink),
    Case("suspend_retire", "suspend_retire", suspend_retire),
    *(
        Case(f"crash_{p.replace(':', '_')}", "crash", _bind(crash_recovery, p))
        for p in CRASH_POINTS
    ),
    Case("drift_repaired", "drift", drift_repaired),
    Case("drift_reported_only", "drift", drift_reported_only),
    Case("throttle_honoured", "throttle", throttle_honoured),
    Case("tenant_error_stops", "tenant_error", tenant_error_stops),
    *(Case(f"in_doubt_{f.value}", "in_doubt", _bind_fault(f)) for f in IN_DOUBT_FAULTS),
    Case("fault_matrix_10pct", "fault_matrix", _bind_rate(0.1)),
    Case("fault_matrix_30pct", "fault_matrix", _bind_rate(0.3), long=True),
)


def skip_reason(case: Case, inapplicable: Mapping[str, str]) -> str | None:
    """Why a harness says ``case`` cannot apply to its target (None: it applies)."""
    return inapplicable.get(case.family) or inapplicable.get(case.id)
