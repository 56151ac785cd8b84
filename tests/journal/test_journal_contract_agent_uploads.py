"""The journal contract: agent uploads kept in the journal (the hosted ingest's store), on
every implementation. Two journal connections on one store stand for two ingest processes."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from engine.ingest_store import Replay
from engine.journal import Journal
from engine.journal.agent_uploads import JournalUploads
from tests.journal.conftest import OpenJournal


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def test_an_upload_begun_on_one_connection_is_finished_on_another(
    open_journal: OpenJournal,
) -> None:
    first, second = await open_journal(), await open_journal()
    try:
        a, b = JournalUploads(first), JournalUploads(second)
        body = b"0123456789" * 100
        pending, offset = await a.begin("agent-1", "alpha", 7, len(body), digest(body), "1.2")
        assert offset == 0
        assert await a.append(pending.upload_id, 0, body[:400]) == 400
        # the connection drops; the agent asks again and reaches the other process
        again, offset = await b.begin("agent-1", "alpha", 7, len(body), digest(body), "1.2")
        assert (again, offset) == (pending, 400)
        assert await b.offset(pending.upload_id) == 400
        assert await b.append(pending.upload_id, 0, body[:400]) == 400  # a resent chunk: no-op
        assert await b.append(pending.upload_id, 400, body[400:]) == len(body)
        assert await b.body(pending.upload_id) == body
        accepted = await b.accept(await b.pending(pending.upload_id), {"persons": 3})
        assert (accepted.agent, accepted.seq, accepted.version) == ("agent-1", 7, "1.2")
        found = await a.latest("alpha")
        assert found is not None
        meta, stored = found
        assert stored == body and meta.size == len(body) and meta.counts == {"persons": 3}
        assert await a.latest("beta") is None
        last = await a.last_of_agent("agent-1", "alpha")
        assert last is not None and last.upload_id == pending.upload_id
        with pytest.raises(KeyError):
            await a.pending(pending.upload_id)  # closed once accepted
    finally:
        await first.close()
        await second.close()


async def test_two_racing_uploads_with_one_sequence_number_exactly_one_is_accepted(
    open_journal: OpenJournal,
) -> None:
    first, second = await open_journal(), await open_journal()
    try:
        a, b = JournalUploads(first), JournalUploads(second)
        one, two = b"first upload", b"second upload!"
        p1, _ = await a.begin("agent-1", "alpha", 9, len(one), digest(one), "1")
        p2, _ = await b.begin("agent-1", "alpha", 9, len(two), digest(two), "1")
        assert p1.upload_id != p2.upload_id
        await a.append(p1.upload_id, 0, one)
        await b.append(p2.upload_id, 0, two)
        results = await asyncio.gather(
            a.accept(p1, {"persons": 1}), b.accept(p2, {"persons": 2}), return_exceptions=True
        )
        replays = [r for r in results if isinstance(r, Replay)]
        accepted = [r for r in results if not isinstance(r, BaseException)]
        assert len(replays) == 1 and len(accepted) == 1, results
        assert replays[0].last_seq == 9
        found = await a.latest("alpha")
        assert found is not None
        assert found[0].upload_id == accepted[0].upload_id
        assert found[1] == (one if accepted[0].upload_id == p1.upload_id else two)
        with pytest.raises(Replay):  # and no later begin with that number
            await b.begin("agent-1", "alpha", 9, len(one), digest(one), "1")
    finally:
        await first.close()
        await second.close()


async def test_a_newer_upload_replaces_the_snapshot_and_the_old_chunks_go(
    journal: Journal,
) -> None:
    store = JournalUploads(journal)
    for seq, body in ((1, b"old" * 10), (2, b"new" * 20)):
        pending, _ = await store.begin("agent-1", "alpha", seq, len(body), digest(body), "1")
        await store.append(pending.upload_id, 0, body)
        await store.accept(pending, {"persons": seq})
    found = await store.latest("alpha")
    assert found is not None and found[1] == b"new" * 20 and found[0].seq == 2
    from engine.journal import SqliteJournal

    assert isinstance(journal, SqliteJournal)
    chunks = await journal._all("SELECT upload_id FROM agent_upload_chunks")
    assert {str(r[0]) for r in chunks} == {found[0].upload_id}
    with pytest.raises(Replay):
        await store.begin("agent-1", "alpha", 2, 3, "x", "1")


async def test_an_agents_older_open_upload_is_dropped_when_it_begins_a_newer_one(
    journal: Journal,
) -> None:
    store = JournalUploads(journal)
    given_up, _ = await store.begin("agent-1", "alpha", 1, 10, "a", "1")
    await store.append(given_up.upload_id, 0, b"12345")
    newer, offset = await store.begin("agent-1", "alpha", 2, 10, "b", "1")
    assert offset == 0 and newer.upload_id != given_up.upload_id
    with pytest.raises(KeyError):
        await store.offset(given_up.upload_id)
    assert await store.append(newer.upload_id, 3, b"x") == 0  # not where it stands
    await store.discard(newer.upload_id)
    with pytest.raises(KeyError):
        await store.pending(newer.upload_id)
