"""The client survives hostile answers from a server on loopback: non-JSON bodies, HTML with
status 200, pages cut mid-JSON, a pageToken pointing nowhere, objects that break the schema.
Each becomes a SourceError naming endpoint, page and problem, or a finding; nothing is saved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from ss12000_helpers import MemoryCache, context, serve_app, source_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SandboxInfo, SandboxSettings, SS12000Sandbox
from engine.source import SourceError

UNIT = {"id": "u1", "displayName": "U", "organisationType": "Skolenhet", "schoolUnitCode": "1"}
CIVIC = "201001019876"

Answer = Callable[[Request], Response]


def _json(doc: Any) -> Response:
    return Response(orjson.dumps(doc), media_type="application/json")


def hostile(persons: Answer) -> Starlette:
    async def token(request: Request) -> Response:
        return _json({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})

    async def listing(request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity == "persons":
            return persons(request)
        data = {"organisations": [UNIT]}.get(entity, [])
        return _json({"data": data, "pageToken": None})

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/v2.0/{entity}", listing, methods=["GET"]),
        ]
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], SandboxInfo]]:
    stops: list[Iterator[str]] = []

    def start(answer: Answer) -> SandboxInfo:
        it = serve_app(hostile(answer))
        root = next(it)
        stops.append(it)
        return SandboxInfo(root + "/v2.0", root + "/token", "c", "s", "generic")

    yield start
    for it in stops:
        next(it, None)


async def read_error(info: SandboxInfo) -> tuple[str, MemoryCache]:
    source = source_for(info, attempts=2)
    cache = MemoryCache()
    with pytest.raises(SourceError) as err:
        await source.read(context(cache))
    await source.aclose()
    assert cache.saves == 0
    return str(err.value), cache


@pytest.mark.parametrize(
    ("body", "ctype", "words"),
    [
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html", "HTML page"),
        (b"Service unavailable", "text/plain", "not valid JSON"),
        (b'{"data": [{"id": "p1", "givenName": "A"', "application/json", "not valid JSON"),
        (b"", "application/json", "empty"),
        (b'{"items": []}', "application/json", "no 'data' list"),
        (b'"just a string"', "application/json", "not a page object"),
        (b'{"data": [], "pageToken": 17}', "application/json", "pageToken"),
    ],
)
async def test_an_unusable_page_is_a_source_error_naming_endpoint_and_page(
    serve: Callable[[Answer], SandboxInfo], body: bytes, ctype: str, words: str
) -> None:
    info = serve(lambda request: Response(body, 200, media_type=ctype))
    message, _ = await read_error(info)
    assert message.startswith("persons page 1: ")
    assert words in message
    assert "Traceback" not in message


async def test_a_page_token_pointing_nowhere(serve: Callable[[Answer], SandboxInfo]) -> None:
    def persons(request: Request) -> Response:
        if "pageToken" in request.query_params:
            return Response(
                orjson.dumps({"code": "INVALID_PAGE_TOKEN", "message": f"unknown {CIVIC}"}),
                404,
                media_type="application/json",
            )
        return _json({"data": [], "pageToken": "gone"})

    message, _ = await read_error(serve(persons))
    assert message.startswith("persons page 2: ")
    assert "page token" in message
    assert CIVIC not in message  # server text is scrubbed of anything like a personnummer


async def test_a_token_that_loops_is_caught(serve: Callable[[Answer], SandboxInfo]) -> None:
    message, _ = await read_error(serve(lambda r: _json({"data": [], "pageToken": "same"})))
    assert "page token it sent before" in message


async def test_broken_objects_become_findings_and_the_rest_is_read(
    serve: Callable[[Answer], SandboxInfo],
) -> None:
    people = [
        {"id": "ok", "givenName": "A", "familyName": "B"},
        {"id": "nofamily", "givenName": "A", "civicNo": {"value": CIVIC}},
        {"id": "badmark", "givenName": "A", "familyName": "B", "securityMarking": "X"},
        ["not", "an", "object"],
    ]
    info = serve(lambda request: _json({"data": people, "pageToken": None}))
    source = source_for(info)
    cache = MemoryCache()
    read = await source.read(context(cache))
    await source.aclose()
    assert set(read.snapshot.persons) == {"ok"}
    by_id = {f.record_id: f for f in read.findings}
    assert set(by_id) == {"nofamily", "badmark", "persons page 1 item 4"}
    assert "familyName is missing" in by_id["nofamily"].message
    assert "securityMarking has the unknown value 'X'" in by_id["badmark"].message
    assert all(CIVIC not in f.message for f in read.findings)
    # refused, not gone: the snapshot names them, so nothing removes what ESS made of them
    assert read.snapshot.refused.persons == {"nofamily", "badmark"}
    # the cache keeps only good copies, and the refused ids, which the next read asks for again
    assert set(cache.records["persons"]) == {"ok"}
    assert set(cache.records["refused:persons"]) == {"nofamily", "badmark"}


async def test_sandbox_faults_html_and_truncated_persist_into_a_clear_error(
    small_dataset: Dataset,
) -> None:
    for kind, words in (("html", "HTML page"), ("truncated", "not valid JSON")):
        settings = SandboxSettings(fault_rate=1.0, fault_kinds=(kind,))
        async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
            message, _ = await read_error(sandbox.info)
        assert message.startswith("organisations page 1: ")
        assert words in message


async def test_sandbox_malformed_objects_become_blocking_findings(small_dataset: Dataset) -> None:
    settings = SandboxSettings(fault_rate=1.0, fault_kinds=("malformed",), seed=5)
    async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
        source = source_for(sandbox.info, page_size=1000)
        read = await source.read(context())
        await source.aclose()
    blocking = [f for f in read.findings if f.blocking]
    assert {f.record_type for f in blocking} == {
        "organisation",
        "person",
        "duty",
        "group",
        "activity",
    }
    assert all(f.record_id and f.message.startswith(f.record_type) for f in blocking)
