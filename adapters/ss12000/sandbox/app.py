"""The sandbox's HTTP side: a starlette app with the token endpoint, the SS 12000 listings,
throttling, latency and fault injection, and the /_sandbox control routes.

Handlers run on the server thread's loop; settings are read on every request so a test can
change them while the server runs.
"""

from __future__ import annotations

import asyncio
import base64
import math
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.ss12000.sandbox.profiles import SandboxProfile
from adapters.ss12000.sandbox.store import BadRequest, Store
from adapters.ss12000.vocabulary import ENTITIES

if TYPE_CHECKING:
    from adapters.ss12000.sandbox import SandboxSettings

BROKEN_FIELD: dict[str, tuple[str, Any]] = {
    "organisations": ("displayName", None),
    "persons": ("givenName", None),
    "duties": ("dutyRole", "Trollkarl"),
    "groups": ("groupType", "Okänd"),
    "activities": ("groups", []),
}
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>"
)


@dataclass
class Counters:
    requests: int = 0
    pages: int = 0
    throttled: int = 0
    faults: int = 0
    tokens_issued: int = 0
    unauthorized: int = 0


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status, headers, media_type="application/json")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"code": code, "message": message}, status, headers)


class Service:
    """State shared by the handlers: data, tokens, counters, throttle and fault dice."""

    def __init__(
        self,
        settings: SandboxSettings,
        profile: SandboxProfile,
        client_id: str,
        client_secret: str,
        advance: Callable[[str, str | None], dict[str, Any]],
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.client_id = client_id
        self.client_secret = client_secret
        self.store = Store(secrets.token_bytes(16))
        self.counters = Counters()
        self.tokens: dict[str, float] = {}
        self.rng = random.Random(settings.seed)
        self._advance = advance
        self._bucket = 0.0
        self._bucket_at = time.monotonic()

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- cross-cutting checks -------------------------------------------------------------

    def _throttle(self) -> Response | None:
        rps = self.settings.requests_per_second
        if rps <= 0:
            return None
        now = time.monotonic()
        capacity = max(1.0, rps)
        self._bucket = min(capacity, self._bucket + (now - self._bucket_at) * rps)
        self._bucket_at = now
        if self._bucket >= 1.0:
            self._bucket -= 1.0
            return None
        self.counters.throttled += 1
        wait = max(1, math.ceil((1.0 - self._bucket) / rps))
        return _error(429, "TOO_MANY_REQUESTS", "Too many requests", {"Retry-After": str(wait)})

    def _authorized(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        expiry = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is not None and expiry > time.monotonic():
            return None
        self.counters.unauthorized += 1
        if expiry is not None:
            self.tokens.pop(token, None)
        problem = "the access token has expired" if expiry is not None else "no valid access token"
        return _error(
            401, "UNAUTHORIZED", problem, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    async def _gate(self, request: Request) -> Response | None:
        self.counters.requests += 1
        refused = self._throttle()
        if refused is not None:
            return refused
        if self.settings.latency_ms > 0:
            await asyncio.sleep(self.settings.latency_ms / 1000)
        return self._authorized(request)

    def _fault(self, allow_malformed: bool) -> str | None:
        s = self.settings
        if s.fault_rate <= 0 or self.rng.random() >= s.fault_rate:
            return None
        kinds = [k for k in s.fault_kinds if allow_malformed or k != "malformed"]
        if not kinds:
            return None
        self.counters.faults += 1
        return self.rng.choice(kinds)

    def _faulty(self, kind: str, body: bytes) -> Response:
        if kind == "5xx":
            status = self.rng.choice((500, 502, 503))
            return _error(status, "SERVER_ERROR", "Internal error, try again")
        if kind == "html":
            return Response(HTML_PAGE, 200, media_type="text/html")
        cut = max(1, len(body) // 2)
        return Response(body[:cut], 200, media_type="application/json")

    # -- handlers -------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        self.counters.requests += 1
        refused = self._throttle()
        if refused is not None:
            return refused
        form = {
            k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()
        }
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                cid, _, csecret = base64.b64decode(basic[6:]).decode().partition(":")
                form.setdefault("client_id", cid)
                form.setdefault("client_secret", csecret)
            except ValueError:
                pass
        if form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        if "client_id" not in form or "client_secret" not in form:
            return _json({"error": "invalid_request"}, 400)
        ok_id = secrets.compare_digest(form["client_id"], self.client_id)
        ok_secret = secrets.compare_digest(form["client_secret"], self.client_secret)
        if not (ok_id and ok_secret):
            return _json({"error": "invalid_client"}, 401)
        lifetime = self.settings.token_lifetime_s
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + lifetime
        self.counters.tokens_issued += 1
        return _json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(lifetime) if lifetime >= 1 else lifetime,
                "scope": form.get("scope", "ss12000"),
            }
        )

    async def listing(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in ENTITIES:
            return _error(404, "NOT_FOUND", f"no endpoint {entity}")
        refused = await self._gate(request)
        if refused is not None:
            return refused
        try:
            records, token = self.store.page(
                entity, dict(request.query_params), paging=self.settings.paging
            )
        except BadRequest as bad:
            return _error(400, bad.code, bad.message)
        self.counters.pages += 1
        fault = self._fault(allow_malformed=bool(records))
        if fault == "malformed":
            records = list(records)
            i = self.rng.randrange(len(records))
            field, value = BROKEN_FIELD[entity]
            broken = dict(records[i])
            if value is None:
                broken.pop(field, None)
            else:
                broken[field] = value
            records[i] = broken
            fault = None
        body = orjson.dumps({"data": records, "pageToken": token})
        if fault is not None:
            return self._faulty(fault, body)
        return Response(body, 200, media_type="application/json")

    async def item(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in ENTITIES:
            return _error(404, "NOT_FOUND", f"no endpoint {entity}")
        refused = await self._gate(request)
        if refused is not None:
            return refused
        rec = self.store.current.by_id[entity].get(request.path_params["id"])
        if rec is None:
            return _error(404, "NOT_FOUND", f"no {entity} with that id")
        return _json(rec)

    async def deleted(self, request: Request) -> Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        try:
            data, token = self.store.deleted(
                list(request.query_params.multi_items()), paging=self.settings.paging
            )
        except BadRequest as bad:
            return _error(400, bad.code, bad.message)
        self.counters.pages += 1
        body = orjson.dumps({"data": data, "pageToken": token})
        fault = self._fault(allow_malformed=False)
        return (
            self._faulty(fault, body)
            if fault
            else Response(body, 200, media_type="application/json")
        )

    async def advance(self, request: Request) -> Response:
        try:
            doc = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return _error(400, "INVALID_BODY", "the body is not JSON")
        kind = doc.get("kind", "term") if isinstance(doc, dict) else None
        as_of = doc.get("as_of") if isinstance(doc, dict) else None
        if kind not in ("term", "year") or (as_of is not None and not isinstance(as_of, str)):
            return _error(
                400, "INVALID_BODY", 'send {"kind": "term"|"year", "as_of"?: "YYYY-MM-DD"}'
            )
        try:
            summary = await asyncio.to_thread(self._advance, kind, as_of)
        except ValueError as exc:
            return _error(400, "INVALID_BODY", str(exc))
        return _json(summary)

    async def stats(self, request: Request) -> Response:
        return _json(vars(self.counters))

    def app(self) -> Starlette:
        prefix = self.profile.api_prefix
        routes = [
            Route(self.profile.token_path, self.token, methods=["POST"]),
            Route(f"{prefix}/deletedEntities", self.deleted, methods=["GET"]),
            Route(f"{prefix}/deletedentities", self.deleted, methods=["GET"]),
            Route(prefix + "/{entity}", self.listing, methods=["GET"]),
            Route(prefix + "/{entity}/{id}", self.item, methods=["GET"]),
            Route("/_sandbox/advance", self.advance, methods=["POST"]),
            Route("/_sandbox/stats", self.stats, methods=["GET"]),
        ]
        return Starlette(routes=routes)
