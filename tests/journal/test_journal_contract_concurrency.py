"""The journal contract: writers on two connections (two processes, two machines) take turns.
What a write reads before it writes (the next operation id, the audit chain's head, a lease's
token) is still true when it commits. Every implementation passes these."""

from __future__ import annotations

import asyncio

import pytest

from engine.audit_chain import verify_chain
from engine.journal import Journal, LeaseHeld, LeaseLost
from engine.plan import Action
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import op, stored_run

ROUNDS = 12


async def writer(j: Journal, tenant: str) -> list[list[int]]:
    batches = []
    for i in range(ROUNDS):
        _, stored = await stored_run(
            j, [op(n, Action.CREATE, "user", f"{tenant}-{i}-{n}") for n in range(1, 4)], tenant
        )
        batches.append([s.id for s in stored])
        await j.add_audit("test", "sync", tenant, True, f"{tenant} {i}")
    return batches


async def test_two_connections_writing_at_once_keep_ids_and_the_audit_chain(
    open_journal: OpenJournal,
) -> None:
    a, b = await open_journal(), await open_journal()
    try:
        got = await asyncio.gather(writer(a, "one"), writer(b, "two"))
        ids = [i for batches in got for batch in batches for i in batch]
        assert len(ids) == len(set(ids)) == 2 * ROUNDS * 3  # no id given twice
        for batches in got:
            for batch in batches:  # each plan's ids are its own run of numbers
                assert batch == list(range(batch[0], batch[0] + 3))
        links = await a.audit_chain(0, 1000)
        assert len(links) == 2 * ROUNDS
        verdict = verify_chain(links)
        assert verdict.ok, verdict.problem
    finally:
        await a.close()
        await b.close()


async def test_one_lease_among_many_contenders(open_journal: OpenJournal) -> None:
    journals = [await open_journal() for _ in range(3)]
    try:
        tries = [j.acquire_lease("t", f"w{n}", ttl=60) for n in range(4) for j in journals]
        results = await asyncio.gather(*tries, return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) == 1
        assert all(isinstance(r, LeaseHeld) for r in results if r not in won)
    finally:
        for j in journals:
            await j.close()


async def test_a_lease_taken_over_fences_its_old_holder_on_another_connection(
    open_journal: OpenJournal,
) -> None:
    a, b = await open_journal(), await open_journal()
    try:
        old = await a.acquire_lease("t", "stalled", ttl=0.05)
        await asyncio.sleep(0.1)
        new = await b.acquire_lease("t", "other machine", ttl=60)
        assert new.token > old.token
        run_id, ops = await stored_run(b, [op(1, Action.CREATE, "user", "u1")], "t")
        with pytest.raises(LeaseLost):
            await a.mark_in_flight(old, ops)
        await b.mark_in_flight(new, ops)
        [state] = await a.load_operations(run_id)
        assert state.op.attempts == 1  # the new holder's mark alone
    finally:
        await a.close()
        await b.close()
