"""The real peer: scim2-server behind the sandbox, over real HTTPS on loopback. scim2-tester
confirms it behaves per the RFCs where ESS relies on it; the EGIL receiver keeps the UUID."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from adapters.scim.sandbox import SandboxSettings, ScimSandbox

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SIS_USER = "urn:scim:schemas:extension:sis:school:1.0:User"


@pytest.fixture(scope="module")
def core() -> Iterator[ScimSandbox]:
    with ScimSandbox() as sandbox:
        sandbox.start()
        yield sandbox


def _client(sb: ScimSandbox, token: str | None = None) -> httpx.Client:
    info = sb.info
    headers = {"Authorization": f"Bearer {token or info.bearer_token}"}
    return httpx.Client(
        base_url=info.base_url,
        verify=ssl.create_default_context(cafile=info.ca_path),
        headers=headers,
    )


def test_scim2_tester_finds_the_peer_compliant(core: ScimSandbox) -> None:
    info = core.info
    http = httpx2.Client(
        base_url=info.base_url,
        verify=ssl.create_default_context(cafile=info.ca_path),
        headers={"Authorization": f"Bearer {info.bearer_token}"},
    )
    results = check_server(SyncSCIMClient(http))
    failing = [(r.title, r.status.name, r.reason) for r in results if r.status not in PASSING]
    assert not failing
    tags = set().union(*(set(r.tags or ()) for r in results))
    # what ESS relies on: discovery, create, read (filter, paging), replace, delete, PATCH
    for needed in ("discovery", "crud:create", "crud:read", "crud:update", "crud:delete"):
        assert needed in tags
    assert any(t.startswith("patch") for t in tags)
    core.clear()


def test_every_request_needs_a_valid_token(core: ScimSandbox) -> None:
    with _client(core, token="not-a-token") as client:
        assert client.get("/Users").status_code == 401
        assert client.get("/ServiceProviderConfig").status_code == 200  # RFC 7643 §5
    info = core.info
    with httpx.Client(verify=ssl.create_default_context(cafile=info.ca_path)) as plain:
        form = {
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
        }
        token = plain.post(info.token_url, data=form).json()["access_token"]
    with _client(core, token=token) as client:
        assert client.get("/Users").status_code == 200
        core.update_settings(revoked=True)
        try:
            assert client.get("/Users").status_code == 401
        finally:
            core.update_settings(revoked=False)


def test_the_egil_receiver_keeps_the_uuid_and_refuses_a_second_post() -> None:
    uid = "3f2b8a4e-1c7d-4e5f-9a0b-2c3d4e5f6a7b"
    body = {
        "schemas": [USER, SIS_USER],
        "externalId": uid,
        "userName": "elev@skola.example",
        "name": {"givenName": "Elev", "familyName": "Ett"},
        SIS_USER: {"enrolments": [{"value": uid, "$ref": f"SchoolUnits/{uid}", "schoolYear": 3}]},
    }
    with ScimSandbox(settings=SandboxSettings(profile="egil")) as sb:
        sb.start()
        with _client(sb) as client:
            made = client.post("/Users", json=body)
            assert made.status_code == 201, made.text
            assert made.json()["id"] == uid
            again = client.post("/Users", json=body)
            assert again.status_code == 409
            assert again.json()["scimType"] == "uniqueness"
            body["name"] = {"givenName": "Elev", "familyName": "Två"}
            put = client.put(f"/Users/{uid}", json=body)
            assert put.status_code == 200
            assert client.get(f"/Users/{uid}").json()["name"]["familyName"] == "Två"
            types = {t["name"] for t in client.get("/ResourceTypes").json()["Resources"]}
            assert {"StudentGroup", "Activity", "SchoolUnit", "Employment"} <= types
        assert len(sb.resources("User")) == 1


def test_scim2_tester_finds_the_egil_discovery_compliant() -> None:
    """The EGIL receiver's discovery (its SIS schemas and resource types) passes scim2-tester;
    its CRUD checks cannot, by design: they send resources without an externalId, which an
    EGIL receiver refuses (the source UUID is the resource's id)."""
    with ScimSandbox(settings=SandboxSettings(profile="egil")) as sb:
        info = sb.start()
        http = httpx2.Client(
            base_url=info.base_url,
            verify=ssl.create_default_context(cafile=info.ca_path),
            headers={"Authorization": f"Bearer {info.bearer_token}"},
        )
        results = check_server(SyncSCIMClient(http), include_tags={"discovery"})
        ran = [r for r in results if r.status is not Status.SKIPPED]
        assert len(ran) > 10
        assert all(r.status in PASSING for r in ran), [
            (r.title, r.reason) for r in ran if r.status not in PASSING
        ]
