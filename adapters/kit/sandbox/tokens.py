"""An OAuth2 token endpoint for a sandbox: the client-credentials grant, opaque bearer tokens
with a lifetime, and a hook for other grants.

Most school services hand out tokens for a client id and secret (sent in the form or as HTTP
Basic). Google's service accounts use the JWT bearer grant (RFC 7523) instead: a sandbox for
them registers a :data:`Grant` under :data:`JWT_BEARER` that checks the signed assertion and
returns the granted scope. Entra's endpoint (JWT access tokens, AADSTS errors) is Microsoft's
own and lives with the Microsoft sandbox.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthRefusal(Exception):
    """A token request refused with an RFC 6749 error code and an HTTP status."""

    def __init__(self, error: str, status: int = 400, description: str = "") -> None:
        super().__init__(description or error)
        self.error = error
        self.status = status
        self.description = description

    def response(self) -> Response:
        body: dict[str, str] = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return _json(body, self.status)


# A grant checks the token request's form and returns the scope it grants, or raises
# OAuthRefusal.
Grant = Callable[[Mapping[str, str]], str]


def _json(body: Any, status: int = 200) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


async def token_form(request: Request) -> dict[str, str]:
    """The form of a token request, with the client id and secret of HTTP Basic added."""
    raw = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    basic = request.headers.get("Authorization", "")
    if basic.lower().startswith("basic "):
        try:
            cid, _, csecret = base64.b64decode(basic[6:]).decode().partition(":")
        except (ValueError, binascii.Error):
            pass
        else:
            form.setdefault("client_id", cid)
            form.setdefault("client_secret", csecret)
    return form


class TokenCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    MISSING = "missing"  # no bearer token, or one this sandbox never issued


@dataclass
class TokenEndpoint:
    """Issues opaque bearer tokens for the grants it knows, and checks them on each request."""

    client_id: str
    client_secret: str
    lifetime_s: Callable[[], float] = lambda: 3600.0
    default_scope: str = ""  # granted when the request names none
    grants: dict[str, Grant] = field(default_factory=dict)
    issued: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.grants.setdefault(CLIENT_CREDENTIALS, self._client_credentials)

    def add_grant(self, grant_type: str, grant: Grant) -> None:
        """Accept another grant (``JWT_BEARER`` for Google's service accounts)."""
        self.grants[grant_type] = grant

    def _client_credentials(self, form: Mapping[str, str]) -> str:
        if "client_id" not in form or "client_secret" not in form:
            raise OAuthRefusal("invalid_request")
        ok_id = secrets.compare_digest(form["client_id"], self.client_id)
        ok_secret = secrets.compare_digest(form["client_secret"], self.client_secret)
        if not (ok_id and ok_secret):
            raise OAuthRefusal("invalid_client", 401)
        return form.get("scope", self.default_scope)

    def issue(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The token response for ``form``; raises OAuthRefusal."""
        grant = self.grants.get(form.get("grant_type", ""))
        if grant is None:
            raise OAuthRefusal("unsupported_grant_type")
        scope = grant(form)
        lifetime = self.lifetime_s()
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + lifetime
        self.issued += 1
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(lifetime) if lifetime >= 1 else lifetime,
            "scope": scope,
        }

    async def handle(self, request: Request) -> Response:
        """The token endpoint itself, for a Starlette route."""
        try:
            return _json(self.issue(await token_form(request)))
        except OAuthRefusal as refusal:
            return refusal.response()

    def check(self, authorization: str | None) -> TokenCheck:
        """Whether ``Authorization: Bearer …`` carries a live token; an expired one is
        forgotten, so the next check of it says MISSING."""
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None:
            return TokenCheck.MISSING
        if expiry > time.monotonic():
            return TokenCheck.VALID
        self._tokens.pop(token, None)
        return TokenCheck.EXPIRED

    def revoke_all(self) -> None:
        """Forget every issued token, as a server restart or a key rotation would."""
        self._tokens.clear()
