"""Each adapter names its vendor's request-id headers to the kit's client, and the kit itself
reads only the common ``x-request-id``: an adapter that forgot its part would lose the id a
ticket with its vendor quotes."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.google.config import GoogleConfig
from adapters.google.target import build_client as build_google_client
from adapters.kit.http import HttpClient
from adapters.kit.retry import Backoff
from adapters.kit.scripted import scripted_server
from adapters.microsoft.client import GraphClient
from adapters.sds.config import SdsConfig
from adapters.sds.graph import GraphClient as SdsGraphClient
from engine import request_ids
from engine.secrets import Secret, SecretResolver

EVERY_VENDORS = {
    "request-id": "graph-id",
    "x-ms-request-id": "azure-id",
    "client-request-id": "echoed-id",
    "x-guploader-uploadid": "google-id",
    "x-request-id": "proxy-id",
}


async def noted(http: HttpClient, headers: dict[str, str]) -> list[str]:
    """The ids the client noted for one refused GET answered with ``headers`` (sent without
    credentials: the scripted server asks for none)."""
    http.auth = None
    async with scripted_server([(400, headers, 0.0)]) as server:
        with request_ids.collecting() as answers:
            resp = await http.request("GET", f"http://127.0.0.1:{server.port}/x", "x")
    await http.aclose()
    assert resp.status_code == 400
    return [rid for _, _, rid in answers.seen]


def only(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in names}


async def test_the_kit_alone_reads_the_common_header_and_no_vendors() -> None:
    assert await noted(HttpClient(timeout_s=5.0), EVERY_VENDORS) == ["proxy-id"]
    vendors_only = {k: v for k, v in EVERY_VENDORS.items() if k != "x-request-id"}
    assert await noted(HttpClient(timeout_s=5.0), vendors_only) == []


async def test_a_client_reads_the_first_header_its_adapter_names() -> None:
    http = HttpClient(timeout_s=5.0, request_id_headers=("client-request-id", "request-id"))
    assert await noted(http, EVERY_VENDORS) == ["echoed-id"]


class _Tokens:
    async def token(self) -> str:
        return "t"

    def invalidate(self) -> None:
        pass


async def test_microsofts_client_reads_graphs_request_id_before_the_echoed_one() -> None:
    client = GraphClient("http://127.0.0.1:1/v1.0", _Tokens())
    assert await noted(client.http, EVERY_VENDORS) == ["graph-id"]
    client = GraphClient("http://127.0.0.1:1/v1.0", _Tokens())
    assert await noted(client.http, only(EVERY_VENDORS, "client-request-id")) == ["echoed-id"]


async def test_googles_client_reads_an_uploads_id(tmp_path: Path) -> None:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = {
        "type": "service_account",
        "client_email": "ess@example.iam.gserviceaccount.com",
        "private_key": pem.decode(),
        "token_uri": "http://127.0.0.1:1/token",
    }
    config = GoogleConfig(
        domain="example.org", service_account_key="env:KEY", admin_subjects=("a@example.org",)
    )
    secrets = SecretResolver(environ={"KEY": json.dumps(key)}, base_dir=tmp_path)
    client = build_google_client(config, secrets)
    assert await noted(client.http, EVERY_VENDORS) == ["google-id"]


async def test_sds_reads_graphs_id_and_azure_storages_for_the_uploaded_files(
    tmp_path: Path,
) -> None:
    config = SdsConfig(folder=tmp_path, delivery="folder")
    client = SdsGraphClient(config, Secret("env:X", "s"), backoff=Backoff(attempts=1))
    assert await noted(client.http, EVERY_VENDORS) == ["graph-id"]
    assert await noted(client.blobs, EVERY_VENDORS) == ["azure-id"]
