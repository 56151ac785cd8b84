"""The kit's token endpoint: client credentials (form or Basic), the JWT bearer hook, and
bearer checks with a lifetime."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.kit.sandbox import (
    JWT_BEARER,
    OAuthRefusal,
    SandboxServer,
    TokenCheck,
    TokenEndpoint,
)

KEY = "a-shared-key-of-this-test-only-32b"


def jwt_bearer(form: Mapping[str, str]) -> str:
    """What a Google-like sandbox would register: a signed assertion grants its scope."""
    try:
        claims = jwt.decode(form.get("assertion", ""), KEY, algorithms=["HS256"], audience="kit")
    except jwt.PyJWTError as exc:
        raise OAuthRefusal("invalid_grant", 400, str(exc)) from None
    return str(claims["scope"])


@pytest.fixture
def endpoint() -> Iterator[tuple[str, TokenEndpoint]]:
    tokens = TokenEndpoint("kit-client", "kit-secret", default_scope="kit")
    tokens.add_grant(JWT_BEARER, jwt_bearer)
    app = Starlette(routes=[Route("/token", tokens.handle, methods=["POST"])])
    with SandboxServer(app) as server:
        yield f"{server.base_url}/token", tokens


def test_client_credentials_in_the_form_or_as_basic(endpoint: tuple[str, TokenEndpoint]) -> None:
    url, tokens = endpoint
    form = {"grant_type": "client_credentials", "client_id": "kit-client"}
    in_form = httpx.post(url, data={**form, "client_secret": "kit-secret"})
    basic = httpx.post(
        url, data={"grant_type": "client_credentials"}, auth=("kit-client", "kit-secret")
    )
    wrong = httpx.post(url, data={**form, "client_secret": "nope"})
    missing = httpx.post(url, data={"grant_type": "client_credentials"})
    other = httpx.post(url, data={"grant_type": "password"})
    assert in_form.status_code == 200
    assert in_form.json()["scope"] == "kit"
    assert in_form.headers["Cache-Control"] == "no-store"
    assert basic.status_code == 200
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (other.status_code, other.json()["error"]) == (400, "unsupported_grant_type")
    assert tokens.issued == 2
    token = in_form.json()["access_token"]
    assert tokens.check(f"Bearer {token}") is TokenCheck.VALID
    assert tokens.check("Bearer made-up") is TokenCheck.MISSING
    assert tokens.check(None) is TokenCheck.MISSING


def test_the_jwt_bearer_grant_is_a_hook(endpoint: tuple[str, TokenEndpoint]) -> None:
    url, tokens = endpoint
    assertion = jwt.encode({"aud": "kit", "scope": "directory"}, KEY, algorithm="HS256")
    granted = httpx.post(url, data={"grant_type": JWT_BEARER, "assertion": assertion})
    forged = jwt.encode(
        {"aud": "kit", "scope": "directory"}, "another-key-of-32-bytes-or-more!", algorithm="HS256"
    )
    refused = httpx.post(url, data={"grant_type": JWT_BEARER, "assertion": forged})
    assert granted.status_code == 200
    assert granted.json()["scope"] == "directory"
    assert tokens.check(f"Bearer {granted.json()['access_token']}") is TokenCheck.VALID
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_an_expired_token_is_told_apart_once_then_forgotten() -> None:
    tokens = TokenEndpoint("c", "s", lifetime_s=lambda: 0.05)
    body = tokens.issue(
        {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}
    )
    assert body["expires_in"] == 0.05
    header = f"Bearer {body['access_token']}"
    assert tokens.check(header) is TokenCheck.VALID
    time.sleep(0.06)
    assert tokens.check(header) is TokenCheck.EXPIRED
    assert tokens.check(header) is TokenCheck.MISSING
    tokens.revoke_all()
