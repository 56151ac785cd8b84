"""The IMS source's HTTPS form: the documents of one export (Organization API, Person API)
fetched over mutual TLS on loopback with an API key, with trustme-made certificates. The
server checks the client certificate against its CA and the key in the header, as Tieto's
integration servers do (which header carries the key is configurable: the vendor's own
header name is not confirmed by a public document)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ims_helpers import AS_OF, NoCache, document, person, school_file

from adapters.ims.source import ImsConfigError, ImsSource
from adapters.kit.retry import Backoff
from adapters.kit.sandbox.tls import SandboxTLS, make_tls
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceError

KEY = "k3y-for-tests"
ORG, PERSONS = "/organization/v12/complete", "/person/v3/persons"


@dataclass
class TietoLike:
    """A loopback HTTPS server that answers two documents to a client with the right
    certificate and key."""

    tls: SandboxTLS
    documents: dict[str, str]
    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)  # path, key given

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()
            return
        path = head[0].split(" ")[1]
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}
        key = headers.get("x-api-key", "")
        self.seen.append((path, key))
        if key != KEY:
            status, body, kind = "401 Unauthorized", b"no", "text/plain"
        elif path in self.documents:
            status, body, kind = "200 OK", self.documents[path].encode(), "application/xml"
        else:
            status, body, kind = "404 Not Found", b"no", "text/plain"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


@asynccontextmanager
async def serving(tmp_path: Path, documents: dict[str, str]) -> AsyncIterator[TietoLike]:
    tls = make_tls(tmp_path / "tls")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tls.ca_path))
    ctx.load_cert_chain(str(tls.server_cert_path), str(tls.server_key_path))
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no certificate, no answer
    server = TietoLike(tls, documents)
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ctx)
    server.port = srv.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        srv.close()
        await srv.wait_closed()


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_IMS_KEY", KEY)
    monkeypatch.setenv("ESS_TEST_IMS_WRONG", "wrong")


def source(server: TietoLike, cert: Path | None, **more: Any) -> ImsSource:
    settings: dict[str, Any] = {
        "type": "ims",
        "urls": [server.url(ORG), server.url(PERSONS)],
        "api_key": "env:ESS_TEST_IMS_KEY",
        "verify": str(server.tls.ca_path),
        **more,
    }
    if cert is not None:
        settings["client_cert"] = str(cert)
    built = ImsSource.from_config(settings, SecretResolver())
    built.backoff = Backoff(attempts=2, base_s=0.01, cap_s=0.02)
    return built


def extra_persons() -> str:  # the Person API's document: a person the export adds
    return document(person("P9", "Dag", "Ny", civic="201003039874"), kind="CompletePerson")


async def test_the_documents_of_one_export_are_read_over_mutual_tls(
    tmp_path: Path, key_env: None
) -> None:
    async with serving(tmp_path, {ORG: school_file(), PERSONS: extra_persons()}) as server:
        cert = server.tls.issue_client_cert("ess-integration")
        read = await source(server, cert).read(SourceContext("t", NoCache(), AS_OF))
    assert [p for p, _ in server.seen] == [ORG, PERSONS]
    assert read.mode == "full"
    assert set(read.snapshot.persons) == {"P1", "P2", "T1", "P9"}
    assert set(read.snapshot.groups) == {"C1", "E1"}
    assert not read.findings


async def test_a_client_without_the_vendors_certificate_gets_no_answer(
    tmp_path: Path, key_env: None
) -> None:
    async with serving(tmp_path, {ORG: school_file(), PERSONS: extra_persons()}) as server:
        other = make_tls(tmp_path / "other").issue_client_cert("stranger")
        for cert in (None, other):
            with pytest.raises(SourceError, match=r"IMS API https://127\.0\.0\.1") as err:
                await source(server, cert, timeout_s=5).read(SourceContext("t", NoCache(), AS_OF))
            assert KEY not in str(err.value)
    assert server.seen == []  # the handshake failed before any request was read


async def test_a_wrong_api_key_is_one_error_naming_the_address_not_the_key(
    tmp_path: Path, key_env: None
) -> None:
    async with serving(tmp_path, {ORG: school_file(), PERSONS: extra_persons()}) as server:
        cert = server.tls.issue_client_cert("ess-integration")
        src = source(server, cert, api_key="env:ESS_TEST_IMS_WRONG")
        with pytest.raises(SourceError, match="refused the request \\(401\\)") as err:
            await src.read(SourceContext("t", NoCache(), AS_OF))
    assert "wrong" not in str(err.value) and server.url(ORG) in str(err.value)


def test_the_https_form_is_checked_when_the_source_is_built(tmp_path: Path) -> None:
    def build(**settings: Any) -> None:
        ImsSource.from_config({"type": "ims", **settings}, SecretResolver())

    with pytest.raises(ImsConfigError, match="urls need api_key"):
        build(urls=["https://ims.example/org"])
    with pytest.raises(ImsConfigError, match="not an https:// address"):
        build(urls=["http://ims.example/org"], api_key="env:X")
    with pytest.raises(ImsConfigError, match="literal"):
        build(urls=["https://ims.example/org"], api_key="s3cret")
    with pytest.raises(ImsConfigError, match="cannot be combined with urls"):
        build(path="export.xml", urls=["https://ims.example/org"])
    with pytest.raises(ImsConfigError, match="client_cert: no such file"):
        build(
            urls=["https://ims.example/org"],
            api_key="env:HOME",
            client_cert=str(tmp_path / "missing.pem"),
        )
