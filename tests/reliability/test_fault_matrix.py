"""The fault matrix: every target at 10% and 30% faults (5xx, applied-then-5xx, timeouts or
429s, as the target can make them). Each cell: a municipality's first sync and a term's changes
run under faults; then, with faults stopped, at most three runs converge; no natural key has two
objects; the target equals the desired state; every item the journal calls done is really there.
"""

from __future__ import annotations

import pytest

from tests.reliability import municipality as town
from tests.reliability.checks import (
    converge,
    done_items_present,
    no_duplicates,
    nothing_listed_removed,
)
from tests.reliability.world import World


@pytest.mark.parametrize("rate", [0.1, 0.3], ids=["10pct", "30pct"])
async def test_faults_converge_without_duplicates_or_false_success(
    world: World, rate: float
) -> None:
    snap = town.first_snapshot()
    world.source(snap)
    world.faults(rate)
    await world.sync()
    truth = world.truth()
    no_duplicates(truth)
    done_items_present(world, truth)

    # a term's ordinary changes, still under faults
    for n, pid in enumerate(town.pupils(snap)[:3]):
        snap = town.leave(snap, pid)
        snap = town.join(snap, n)
    snap = town.advance_term(snap, 1)
    world.source(snap)
    before = world.truth()
    await world.sync()
    after = world.truth()
    no_duplicates(after)
    done_items_present(world, after)
    nothing_listed_removed(world, before, after, world.wanted())

    await converge(world, runs=3)
