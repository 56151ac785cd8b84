"""The sandbox's HTTP side: the token endpoint, the SS 12000 listings and the /_sandbox routes,
wrapped in the kit's middleware for throttling, latency and injected faults.

Handlers run on the server thread's loop; settings are read on every request so a test can
change them while the server runs. Throttling applies to every request but /_sandbox (one
sliding window of ``requests_per_second``), latency to the API (not the token endpoint), and
faults to the listings and ``/deletedEntities``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.kit.sandbox import (
    Chaos,
    FaultAction,
    Inspection,
    KitSettings,
    Limit,
    TokenCheck,
    TokenEndpoint,
    injected_fault,
)
from adapters.ss12000.sandbox.profiles import SandboxProfile
from adapters.ss12000.sandbox.settings import SandboxSettings
from adapters.ss12000.sandbox.store import BadRequest, Store
from adapters.ss12000.vocabulary import ENTITIES

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
FAULT_STATUSES = (500, 502, 503)


def _html(body: bytes) -> Response:
    return Response(HTML_PAGE, 200, media_type="text/html")


def _truncated(body: bytes) -> Response:
    return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")


# A 5xx comes after the page was read (the server did the work, then failed).
FAULT_ACTIONS: Mapping[str, FaultAction] = {
    "5xx": FaultAction("applied"),
    "html": FaultAction("rewrite", _html),
    "truncated": FaultAction("rewrite", _truncated),
    "malformed": FaultAction("app"),
    "timeout": FaultAction("hang"),
}
CHAOS_ERRORS = {
    "throttled": ("TOO_MANY_REQUESTS", "Too many requests"),
    "fault": ("SERVER_ERROR", "Internal error, try again"),
    "timeout": ("GATEWAY_TIMEOUT", "No answer in time"),
}


@dataclass
class Counters:
    pages: int = 0
    unauthorized: int = 0


def _json(doc: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status, dict(headers or {}), media_type="application/json")


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return _json({"code": code, "message": message}, status, headers)


def _chaos_error(status: int, reason: str, headers: Mapping[str, str]) -> Response:
    code, message = CHAOS_ERRORS[reason]
    return _error(status, code, message, headers)


def _rate_limit(settings: KitSettings) -> Limit | None:
    assert isinstance(settings, SandboxSettings)
    return Limit.per_second(settings.requests_per_second, settings.time_scale)


class Service:
    """State shared by the handlers: data, tokens, counters, and the kit's middleware."""

    def __init__(
        self,
        settings: SandboxSettings,
        profile: SandboxProfile,
        client_id: str,
        client_secret: str,
        advance: Callable[[str, str | None], dict[str, Any]],
        describe: Callable[[], dict[str, Any]],
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.store = Store(secrets.token_bytes(16))
        self.counters = Counters()
        self.tokens = TokenEndpoint(
            client_id,
            client_secret,
            lifetime_s=lambda: self.settings.token_lifetime_s,
            default_scope="ss12000",
        )
        self._advance = advance
        self._describe = describe
        self.chaos = Chaos(
            self._routes(),
            lambda: self.settings,
            limit=_rate_limit,
            delays=self._in_api,
            faults=self._paged,
            actions=FAULT_ACTIONS,
            statuses=FAULT_STATUSES,
            error=_chaos_error,
        )

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()

    def stats(self) -> dict[str, int]:
        chaos = self.chaos.counters
        return {
            "requests": chaos.requests,
            "pages": self.counters.pages,
            "throttled": chaos.throttled,
            "faults": chaos.faults,
            "tokens_issued": self.tokens.issued,
            "unauthorized": self.counters.unauthorized,
        }

    # -- which requests meet what ---------------------------------------------------------

    def _in_api(self, path: str) -> bool:
        return path.startswith(self.profile.api_prefix + "/")

    def _paged(self, path: str) -> bool:
        """A listing or /deletedEntities (one path segment under the API), not an item."""
        rest = path[len(self.profile.api_prefix) + 1 :]
        return self._in_api(path) and bool(rest) and "/" not in rest.rstrip("/")

    def _authorized(self, request: Request) -> Response | None:
        check = self.tokens.check(request.headers.get("Authorization"))
        if check is TokenCheck.VALID:
            return None
        self.counters.unauthorized += 1
        problem = (
            "the access token has expired"
            if check is TokenCheck.EXPIRED
            else "no valid access token"
        )
        return _error(
            401, "UNAUTHORIZED", problem, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    # -- handlers -------------------------------------------------------------------------

    async def listing(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in ENTITIES:
            return _error(404, "NOT_FOUND", f"no endpoint {entity}")
        refused = self._authorized(request)
        if refused is not None:
            return refused
        try:
            records, token = self.store.page(
                entity, dict(request.query_params), paging=self.settings.paging
            )
        except BadRequest as bad:
            return _error(400, bad.code, bad.message)
        self.counters.pages += 1
        if injected_fault(request) == "malformed" and records:
            records = list(records)
            i = self.chaos.dice.rng.randrange(len(records))
            field, value = BROKEN_FIELD[entity]
            broken = dict(records[i])
            if value is None:
                broken.pop(field, None)
            else:
                broken[field] = value
            records[i] = broken
        body = orjson.dumps({"data": records, "pageToken": token})
        return Response(body, 200, media_type="application/json")

    async def item(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in ENTITIES:
            return _error(404, "NOT_FOUND", f"no endpoint {entity}")
        refused = self._authorized(request)
        if refused is not None:
            return refused
        rec = self.store.current.by_id[entity].get(request.path_params["id"])
        if rec is None:
            return _error(404, "NOT_FOUND", f"no {entity} with that id")
        return _json(rec)

    async def deleted(self, request: Request) -> Response:
        refused = self._authorized(request)
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
        return Response(body, 200, media_type="application/json")

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

    def _routes(self) -> Starlette:
        prefix = self.profile.api_prefix
        inspection = Inspection(
            settings=lambda: self.settings, state=self._describe, stats=self.stats
        )
        routes = [
            Route(self.profile.token_path, self.tokens.handle, methods=["POST"]),
            Route(f"{prefix}/deletedEntities", self.deleted, methods=["GET"]),
            Route(f"{prefix}/deletedentities", self.deleted, methods=["GET"]),
            Route(prefix + "/{entity}", self.listing, methods=["GET"]),
            Route(prefix + "/{entity}/{id}", self.item, methods=["GET"]),
            Route("/_sandbox/advance", self.advance, methods=["POST"]),
            *inspection.routes(),
        ]
        return Starlette(routes=routes)
