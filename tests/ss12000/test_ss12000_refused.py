"""A record damaged once on its way is refused, held and asked for again on the next read:
incremental reads over real HTTP against the SS 12000 sandbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from ss12000_helpers import AS_OF, MemoryCache, context, same_snapshot, serve_app, source_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SandboxInfo, SS12000Sandbox
from adapters.ss12000.source import format_checkpoint
from engine.journal import SqliteJournal
from engine.source import SourceContext, SourceRead


def blocking_ids(read: SourceRead) -> set[str]:
    return {f.record_id for f in read.findings if f.blocking}


async def test_a_record_damaged_once_is_read_again_and_its_finding_clears(
    small_dataset: Dataset,
) -> None:
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        first = await source.read(context(cache))
        assert first.mode == "full" and not blocking_ids(first)
        good_copies = {e: dict(recs) for e, recs in cache.records.items()}

        # a term passes; this read's pages each come with one record damaged on the way
        await asyncio.to_thread(sandbox.advance, "term")
        sandbox.settings.fault_kinds = ("malformed",)
        sandbox.settings.fault_rate = 1.0
        damaged = await source.read(context(cache))
        sandbox.settings.fault_rate = 0.0
        assert damaged.mode == "incremental"
        refused = damaged.snapshot.refused
        assert refused.persons and refused.groups
        assert refused.persons <= blocking_ids(damaged)
        assert not refused.persons & set(damaged.snapshot.persons)
        # their memberships are no "unknown member": the person's own finding says it
        assert not [f for f in damaged.findings if f.code == "ss12000.unknown_member"]
        # the cache keeps the last good copy of a refused person, never the damaged one
        for pid in refused.persons & set(good_copies["persons"]):
            assert cache.records["persons"][pid] == good_copies["persons"][pid]
        assert set(cache.records["refused:persons"]) == set(refused.persons)

        # the next run comes later, when nothing has changed since (its checkpoint lies past
        # the advance and the read overlap): it asks for the refused records again by id
        cache.checkpoint = format_checkpoint(datetime.now(UTC) + timedelta(seconds=1))
        healed = await source.read(context(cache))
        assert healed.mode == "incremental"
        assert not blocking_ids(healed)
        assert not healed.snapshot.refused
        assert refused.persons <= set(healed.snapshot.persons)
        assert not any(cache.records.get(f"refused:{e}") for e in ("persons", "groups"))
        await source.aclose()

        fresh = source_for(sandbox.info)
        full = await fresh.read(context())
        await fresh.aclose()
    same_snapshot(healed.snapshot, full.snapshot)


async def test_a_refused_record_gone_from_the_source_is_gone(small_dataset: Dataset) -> None:
    """Asked for again by id and not found (404): the record is gone, like a deletion."""
    async with SS12000Sandbox(small_dataset) as sandbox:
        source = source_for(sandbox.info)
        cache = MemoryCache()
        await source.read(context(cache))
        cache.records.setdefault("refused:persons", {})["no-such-person"] = b""
        read = await source.read(context(cache))
        await source.aclose()
    assert read.mode == "incremental"
    assert "no-such-person" not in read.snapshot.refused.persons
    assert not cache.records["refused:persons"]


def _json(doc: Any) -> Response:
    return Response(orjson.dumps(doc), media_type="application/json")


def duty_server(duties: list[list[dict[str, Any]]]) -> Starlette:
    """A school unit, a teacher and her duty; each read gets the next of ``duties``."""
    unit = {"id": "u1", "displayName": "U", "organisationType": "Skolenhet", "schoolUnitCode": "1"}
    teacher = {"id": "p1", "givenName": "Åsa", "familyName": "Öberg"}
    reads = iter(duties)
    current: list[list[dict[str, Any]]] = [[]]

    async def token(request: Request) -> Response:
        return _json({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    async def listing(request: Request) -> Response:
        if request.path_params["entity"] == "organisations":  # a read begins with them
            current[0] = next(reads)
        data = {"organisations": [unit], "persons": [teacher], "duties": current[0]}
        return _json({"data": data.get(request.path_params["entity"], []), "pageToken": None})

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/v2.0/{entity}", listing, methods=["GET"]),
        ]
    )


async def test_a_duty_damaged_in_its_person_holds_the_person_of_its_last_good_copy() -> None:
    good = {"id": "d1", "person": {"id": "p1"}, "dutyAt": {"id": "u1"}, "dutyRole": "Lärare"}
    bad = {**good, "person": None}
    it = serve_app(duty_server([[good], [bad]]))
    root = next(it)
    try:
        info = SandboxInfo(root + "/v2.0", root + "/token", "c", "s", "generic")
        source = source_for(info)
        cache = MemoryCache()
        first = await source.read(context(cache))
        assert {r.person_id for r in first.snapshot.school_roles} == {"p1"}
        second = await source.read(context(cache), full=True)
        await source.aclose()
    finally:
        next(it, None)
    assert "d1" in blocking_ids(second)
    # the damaged copy no longer says whose duty it is; the last good copy does
    assert second.snapshot.refused.persons == {"p1"}
    assert cache.records["duties"]["d1"] == first_copy(cache, "d1")


def first_copy(cache: MemoryCache, rid: str) -> bytes:
    body = cache.records["duties"][rid]
    assert b'"p1"' in body  # the good copy, with its person
    return body


async def test_the_refused_ids_live_in_the_journal_between_runs(
    small_dataset: Dataset, tmp_path: Path
) -> None:
    """The same, with the journal's own source cache on a real SQLite file, reopened between
    runs as separate runs of ``ess sync`` would."""
    async with SS12000Sandbox(small_dataset) as sandbox:

        async def read(**kw: Any) -> SourceRead:
            journal = await SqliteJournal.open(tmp_path / "ess.db")
            source = source_for(sandbox.info)
            try:
                ctx = SourceContext("t", journal.source_cache("t"), AS_OF)
                return await source.read(ctx, **kw)
            finally:
                await source.aclose()
                await journal.close()

        await read()
        sandbox.settings.fault_kinds = ("malformed",)
        sandbox.settings.fault_rate = 1.0
        damaged = await read(full=True)
        sandbox.settings.fault_rate = 0.0
        assert damaged.snapshot.refused.persons
        healed = await read()
    assert healed.mode == "incremental"
    assert not blocking_ids(healed)
    assert damaged.snapshot.refused.persons <= set(healed.snapshot.persons)
