"""The run's lease heartbeat, on every journal: it keeps a short lease alive while the run
writes nothing, a lease whose heartbeat stopped (its process died) expires within one lease
time, and a heartbeat whose lease was taken over stops while the old holder's writes are
refused."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.journal import LeaseHeld, LeaseLost
from engine.lease_heartbeat import LeaseHeartbeat
from engine.plan import Action
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import op, stored_run

TTL = 0.6


def hold_the_loop(seconds: float) -> None:
    """What CPU-bound work on the event loop does: no task on the loop runs meanwhile."""
    time.sleep(seconds)


async def test_the_heartbeat_keeps_a_silent_run_s_lease(open_journal: OpenJournal) -> None:
    a, b = await open_journal(), await open_journal()
    try:
        lease = await a.acquire_lease("t", "worker on host-a", ttl=TTL)
        async with LeaseHeartbeat(a, lease, TTL) as beat:
            await asyncio.sleep(TTL * 3)  # three lease times without a write
            with pytest.raises(LeaseHeld):
                await b.acquire_lease("t", "worker on host-b", ttl=60)
        assert beat.renewals >= 3 and not beat.lost
        # nothing renews it now (as when its process died): it expires within one lease time
        await asyncio.sleep(TTL + 0.1)
        taken = await b.acquire_lease("t", "worker on host-b", ttl=60)
        assert taken.token > lease.token
    finally:
        await a.close()
        await b.close()


async def test_a_heartbeat_whose_lease_was_taken_stops_and_the_old_holder_cannot_write(
    open_journal: OpenJournal,
) -> None:
    a, b = await open_journal(), await open_journal()
    try:
        old = await a.acquire_lease("t", "stalled worker", ttl=0.05)
        await asyncio.sleep(0.1)  # it stalled past its lease
        new = await b.acquire_lease("t", "other machine", ttl=60)
        run_id, ops = await stored_run(b, [op(1, Action.CREATE, "user", "u1")], "t")
        async with LeaseHeartbeat(a, old, 0.3) as beat:
            await asyncio.sleep(0.5)  # the stalled one wakes up: its heartbeat beats once
            assert beat.lost
            with pytest.raises(LeaseLost):
                await a.mark_in_flight(old, ops)
        holder = await b.lease_holder("t")
        assert holder is not None and holder.holder == "other machine"  # not taken back
        await b.mark_in_flight(new, ops)
        [state] = await b.load_operations(run_id)
        assert state.op.attempts == 1  # the new holder's mark alone
    finally:
        await a.close()
        await b.close()


async def test_from_its_own_thread_it_renews_while_the_run_holds_the_loop(
    open_journal: OpenJournal,
) -> None:
    """A hosted worker's heartbeat: planning a large municipality holds the event loop for
    longer than the lease, and the lease must not lapse meanwhile."""
    a, b = await open_journal(), await open_journal()
    try:
        lease = await a.acquire_lease("t", "worker on host-a", ttl=TTL)
        async with LeaseHeartbeat(a, lease, TTL, own_journal=open_journal) as beat:
            hold_the_loop(TTL * 4)
            with pytest.raises(LeaseHeld):
                await b.acquire_lease("t", "worker on host-b", ttl=60)
        assert beat.renewals >= 3 and not beat.lost
        await asyncio.sleep(TTL + 0.1)  # its thread stopped with the block: it expires
        assert (await b.acquire_lease("t", "worker on host-b", ttl=60)).token > lease.token
    finally:
        await a.close()
        await b.close()


async def test_on_the_loop_a_held_loop_lets_the_lease_lapse(open_journal: OpenJournal) -> None:
    """Why a hosted worker's heartbeat has a thread of its own."""
    a, b = await open_journal(), await open_journal()
    try:
        lease = await a.acquire_lease("t", "worker on host-a", ttl=TTL)
        async with LeaseHeartbeat(a, lease, TTL):
            hold_the_loop(TTL * 2)
            taken = await b.acquire_lease("t", "worker on host-b", ttl=60)
        assert taken.token > lease.token
    finally:
        await a.close()
        await b.close()
