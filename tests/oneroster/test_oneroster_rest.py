"""The OneRoster source's REST form: rostering v1p2 over HTTPS on loopback (trustme), OAuth2
client credentials, limit/offset paging. The server here serves the small package of
``oneroster_helpers`` as the REST binding shapes it (references as ``{"sourcedId": ...}``,
a user's roles inside the user, ``userIds`` as objects); the REST read must give the very
snapshot the CSV read gives."""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from oneroster_helpers import AS_OF, FILES, NoCache, read_path, write_package

from adapters.kit.retry import Backoff
from adapters.kit.sandbox.tls import make_tls
from adapters.oneroster.source import OneRosterConfigError, OneRosterSource
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceError

SECRET = "s3cret-for-tests"
ROOT = "/ims/oneroster/rostering/v1p2"


def _rows(name: str) -> list[dict[str, str]]:
    header, *rows = FILES[name]
    return [dict(zip(header, r, strict=True)) for r in rows]


def _ref(value: str) -> dict[str, str] | None:
    return {"sourcedId": value} if value else None


def rest_objects() -> dict[str, list[dict[str, Any]]]:
    """The helpers' package as the REST binding gives it."""
    roles: dict[str, list[dict[str, Any]]] = {}
    for r in _rows("roles.csv"):
        roles.setdefault(r["userSourcedId"], []).append(
            {"roleType": r["roleType"], "role": r["role"], "org": _ref(r["orgSourcedId"]),
             "beginDate": r["beginDate"] or None, "endDate": r["endDate"] or None}
        )  # fmt: skip
    users = []
    for u in _rows("users.csv"):
        ids = [
            {"type": t, "identifier": v}
            for t, _, v in (x.strip("{}").partition(":") for x in u["userIds"].split(",") if x)
        ]
        users.append(
            {"sourcedId": u["sourcedId"], "status": "active", "givenName": u["givenName"],
             "familyName": u["familyName"], "email": u["email"] or None, "userIds": ids,
             "roles": roles.get(u["sourcedId"], [])}
        )  # fmt: skip
    return {
        "orgs": [
            {"sourcedId": o["sourcedId"], "status": "active", "name": o["name"],
             "type": o["type"], "identifier": o["identifier"], "parent": _ref(o["parentSourcedId"])}
            for o in _rows("orgs.csv")
        ],
        "academicSessions": [
            {"sourcedId": s["sourcedId"], "title": s["title"], "type": s["type"],
             "startDate": s["startDate"], "endDate": s["endDate"]}
            for s in _rows("academicSessions.csv")
        ],
        "courses": [],
        "classes": [
            {"sourcedId": c["sourcedId"], "title": c["title"], "classType": c["classType"],
             "school": _ref(c["schoolSourcedId"]),
             "terms": [{"sourcedId": t} for t in c["termSourcedIds"].split(",") if t],
             "subjectCodes": [x for x in c["subjectCodes"].split(",") if x]}
            for c in _rows("classes.csv")
        ],
        "users": users,
        "enrollments": [
            {"sourcedId": e["sourcedId"], "role": e["role"], "class": _ref(e["classSourcedId"]),
             "school": _ref(e["schoolSourcedId"]), "user": _ref(e["userSourcedId"])}
            for e in _rows("enrollments.csv")
        ]
        + [{"sourcedId": "E9", "status": "tobedeleted", "role": "student",
            "class": _ref("C2"), "user": _ref("U2")}],
    }  # fmt: skip


@dataclass
class RosterServer:
    objects: dict[str, list[dict[str, Any]]]
    port: int = 0
    pages: list[tuple[str, int, int]] = field(default_factory=list)  # collection, offset, limit
    tokens: int = 0
    bearer: set[str] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target = head[0].split(" ")[:2]
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        if method == "POST" and url.path == "/token":
            form = dict(urllib.parse.parse_qsl(body.decode()))
            ok = form.get("grant_type") == "client_credentials" and (
                form.get("client_id"),
                form.get("client_secret"),
            ) == ("ess", SECRET)
            self.tokens += ok
            status, out = (
                (200, {"access_token": "tok", "expires_in": 3600})
                if ok
                else (401, {"error": "invalid_client"})
            )
        elif headers.get("authorization") != "Bearer tok":
            status, out = 401, {"error": "no token"}
        else:
            self.bearer.add(headers["authorization"])
            name = url.path.removeprefix(ROOT + "/")
            offset, limit = int(query.get("offset", "0")), int(query.get("limit", "100"))
            self.pages.append((name, offset, limit))
            status, out = 200, {name: self.objects[name][offset : offset + limit]}
        data = orjson.dumps(out)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[tuple[RosterServer, Path]]:
    tls = make_tls(tmp_path / "tls")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls.server_cert_path), str(tls.server_key_path))
    server = RosterServer(rest_objects())
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ctx)
    server.port = srv.sockets[0].getsockname()[1]
    try:
        yield server, tls.ca_path
    finally:
        srv.close()
        await srv.wait_closed()


def rest_source(port: int, ca: Path, secret: str = "env:ESS_TEST_OR_SECRET") -> OneRosterSource:
    settings = {
        "type": "oneroster",
        "base_url": f"https://127.0.0.1:{port}",
        "token_url": f"https://127.0.0.1:{port}/token",
        "client_id": "ess",
        "client_secret": secret,
        "page_size": 2,
        "verify": str(ca),
    }
    source = OneRosterSource.from_config(settings, SecretResolver())
    source.backoff = Backoff(attempts=2, base_s=0.01, cap_s=0.02)
    return source


async def test_the_rest_api_gives_the_snapshot_the_csv_package_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_OR_SECRET", SECRET)
    async with serving(tmp_path) as (server, ca):
        read = await rest_source(server.port, ca).read(SourceContext("t", NoCache(), AS_OF))
    csv_read = await asyncio.to_thread(read_path, write_package(tmp_path / "csv"))
    assert read.mode == "full"
    assert read.snapshot == csv_read.snapshot
    assert not [f for f in read.findings if f.code != "oneroster.header"]
    assert server.tokens == 1 and server.bearer == {"Bearer tok"}
    users = [(o, lim) for name, o, lim in server.pages if name == "users"]
    assert users == [(0, 2), (2, 2)]  # three users, two to a page: a short page ends it
    assert ("C2", "U2") not in {(m.group_id, m.person_id) for m in read.snapshot.memberships}


async def test_refused_client_credentials_are_one_error_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_OR_SECRET", "wrong-secret")
    async with serving(tmp_path) as (server, ca):
        with pytest.raises(SourceError, match="refused the client credentials") as err:
            await rest_source(server.port, ca).read(SourceContext("t", NoCache(), AS_OF))
    assert "wrong-secret" not in str(err.value) and server.pages == []


def test_the_rest_form_is_checked_when_the_source_is_built() -> None:
    def build(**settings: Any) -> None:
        OneRosterSource.from_config({"type": "oneroster", **settings}, SecretResolver())

    with pytest.raises(OneRosterConfigError, match="needs token_url, client_id, client_secret"):
        build(base_url="https://or.example")
    with pytest.raises(OneRosterConfigError, match="not an https:// address"):
        build(base_url="http://or.example")
    with pytest.raises(OneRosterConfigError, match="literal"):
        build(
            base_url="https://or.example",
            token_url="https://or.example/token",
            client_id="x",
            client_secret="plain",
        )
    with pytest.raises(OneRosterConfigError, match="cannot be combined"):
        build(path="pkg", base_url="https://or.example")
