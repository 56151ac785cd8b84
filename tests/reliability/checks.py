"""The invariants the reliability suites hold ESS to, each raising InvariantBroken with the
promise it broke and what was seen."""

from __future__ import annotations

from tests.reliability.targets import TrueState, Wanted, same
from tests.reliability.world import InvariantBroken, World


def no_duplicates(truth: TrueState) -> None:
    dups = truth.duplicates()
    if dups:
        raise InvariantBroken(
            f"no duplicates: {len(dups)} natural key(s) have more than one object: "
            + ", ".join(f"{k} x{n}" for k, n in sorted(dups.items())[:8])
        )


def equals_desired(world: World, truth: TrueState | None = None) -> None:
    diff = same(truth or world.truth(), world.wanted())
    if diff:
        raise InvariantBroken(
            f"target == desired: {len(diff)} difference(s):\n  "
            + "\n  ".join(diff[:15])
            + f"\nlast steps:\n{world.history()}"
        )


def done_items_present(world: World, truth: TrueState | None = None) -> None:
    """No false success: what the journal calls done is in the target."""
    t = truth or world.truth()
    wrong = []
    for op in world.settled_done_ops():
        kind, key, parent, action = op["kind"], op["key"], op["parent"], op["action"]
        if parent is not None:
            linked = (parent, key) in t.links.get(kind, set())
            if linked != (action == "link"):
                wrong.append(f"{action} {kind} {parent}/{key}")
            continue
        present = key in t.present.get(kind, set())
        if action in ("create", "update", "restore"):
            ok = present and key not in t.suspended.get(kind, set())
        elif action == "suspend":
            ok = key in t.suspended.get(kind, set())
        elif action == "archive":
            ok = present and key not in t.live.get(kind, {})
        elif action == "delete":
            ok = not present
        else:
            ok = True
        if not ok:
            wrong.append(f"{action} {kind} {key} (run {op['run_id']})")
    if wrong:
        raise InvariantBroken(
            f"no false success: {len(wrong)} item(s) done in the journal but not so in the "
            "target: " + ", ".join(wrong[:10]) + f"\nlast steps:\n{world.history()}"
        )


def nothing_listed_removed(
    world: World, before: TrueState, after: TrueState, listed: Wanted
) -> None:
    """A run never takes away an object or link the source still lists."""
    lost = []
    for kind, objs in before.live.items():
        now = after.live.get(kind, {})
        for key in objs:
            if key not in now and key in listed.live.get(kind, {}):
                state = "suspended" if key in after.suspended.get(kind, set()) else "removed"
                lost.append(f"{kind} {key} {state}")
    for kind, pairs in before.links.items():
        gone = pairs - after.links.get(kind, set())
        wanted = listed.links.get(kind, set())
        lost.extend(f"{kind} {p}/{c} unlinked" for p, c in gone if (p, c) in wanted)
    if lost:
        raise InvariantBroken(
            f"never remove what the source lists: {len(lost)} removal(s) of listed records: "
            + ", ".join(sorted(lost)[:10])
            + f"\nlast steps:\n{world.history()}"
        )


async def dry_run_plans_nothing(world: World) -> None:
    """A succeeded run's dry-run successor plans nothing."""
    run = await world.sync(dry_run=True)
    planned = run.counts.get("planned", 0)
    if planned:
        raise InvariantBroken(
            f"a succeeded run's dry-run successor planned {planned} operation(s): "
            f"{run.counts}\nlast steps:\n{world.history()}"
        )


async def converge(world: World, *, runs: int = 3) -> None:
    """With faults stopped, at most ``runs`` runs (a held one approved) reach the desired
    state, with nothing left open and nothing planned after."""
    world.faults(0.0)
    last = None
    for _ in range(runs):
        last = await world.sync()
        if last.status == "held":
            last = await world.approve(last.id)
        if last.status == "succeeded" and not same(world.truth(), world.wanted()):
            break
    assert last is not None
    if last.status != "succeeded":
        raise InvariantBroken(
            f"converge within {runs} runs after faults stop: the last run is {last.status} "
            f"{last.counts}\nlast steps:\n{world.history()}"
        )
    truth = world.truth()
    no_duplicates(truth)
    equals_desired(world, truth)
    done_items_present(world, truth)
    await dry_run_plans_nothing(world)
