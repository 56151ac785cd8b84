"""The OneRoster sandbox's HTTP side: the OAuth2 token endpoint, the rostering v1p2
collections with limit/offset paging and ``filter``, and the /_sandbox routes, wrapped in the
kit's middleware for throttling, latency and injected faults.

What follows 1EdTech's OpenAPI file for the rostering service (v1p2, as published in
``1EdTech/oneroster-bootcamp``): the base path, ``limit`` (default 100) and ``offset``, the
``X-Total-Count`` header and the ``next``/``last``/``first``/``prev`` links, the
``imsx_StatusInfoDType`` error body with its code minor values, the two read scopes. Not
confirmed there and chosen here: the token endpoint's path (``/oauth2/token``; the binding
leaves it to the server), the links carried in one RFC 8288 ``Link`` header, and which filter
forms a server must take (this one takes ``AND`` of ``=``, ``!=``, ``<``, ``<=``, ``>``,
``>=`` on ``dateLastModified``, ``status`` and ``sourcedId``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

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
    loopback_only,
)
from adapters.oneroster.sandbox.objects import COLLECTIONS
from adapters.oneroster.sandbox.settings import SandboxSettings
from adapters.oneroster.sandbox.store import BadFilter, Store

BASE_PATH = "/ims/oneroster/rostering/v1p2"
TOKEN_PATH = "/oauth2/token"
SCOPES = (
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly",
)
DEFAULT_LIMIT = 100
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1></body></html>"
)


def _html(body: bytes) -> Response:
    return Response(HTML_PAGE, 200, media_type="text/html")


def _truncated(body: bytes) -> Response:
    return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")


FAULT_ACTIONS: Mapping[str, FaultAction] = {
    "5xx": FaultAction("refuse"),
    "html": FaultAction("rewrite", _html),
    "truncated": FaultAction("rewrite", _truncated),
    "timeout": FaultAction("hang"),
}
MINOR = {
    "throttled": "server_busy",
    "fault": "internal_server_error",
    "timeout": "internal_server_error",
}


def status_info(
    status: int, minor: str, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The binding's error body (``imsx_StatusInfoDType``)."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
            ]
        },
    }
    return Response(orjson.dumps(body), status, dict(headers or {}), media_type="application/json")


def _chaos_error(status: int, reason: str, headers: Mapping[str, str]) -> Response:
    return status_info(status, MINOR[reason], reason, headers)


def _rate_limit(settings: KitSettings) -> Limit | None:
    assert isinstance(settings, SandboxSettings)
    return Limit.per_second(settings.requests_per_second, settings.time_scale)


def _in_api(path: str) -> bool:
    return path.startswith(BASE_PATH + "/")


@dataclass
class Counters:
    pages: int = 0
    unauthorized: int = 0


def _links(url: str, params: Mapping[str, str], offset: int, limit: int, total: int) -> str:
    """The ``Link`` header: next and prev when there are such pages, first and last always."""

    def link(at: int, rel: str) -> str:
        query = urlencode({**params, "limit": str(limit), "offset": str(at)})
        return f'<{url}?{query}>; rel="{rel}"'

    last = max(0, (total - 1) // limit * limit)
    out = []
    if offset + limit < total:
        out.append(link(offset + limit, "next"))
    if offset > 0:
        out.append(link(max(0, offset - limit), "prev"))
    out += [link(0, "first"), link(last, "last")]
    return ", ".join(out)


class Service:
    """The handlers' shared state: the store, the token endpoint, counters, the middleware."""

    def __init__(
        self,
        settings: Callable[[], SandboxSettings],
        store: Store,
        client_id: str,
        client_secret: str,
        advance: Callable[[Request], Any],
        describe: Callable[[], dict[str, Any]],
    ) -> None:
        self._settings = settings
        self.store = store
        self.counters = Counters()
        self.tokens = TokenEndpoint(
            client_id,
            client_secret,
            lifetime_s=lambda: self._settings().token_lifetime_s,
            default_scope=SCOPES[0],
        )
        inspection = Inspection(settings=settings, state=describe, stats=self.stats)
        routes = [
            Route(TOKEN_PATH, self.tokens.handle, methods=["POST"]),
            Route(BASE_PATH + "/{collection}", self.listing, methods=["GET"]),
            Route(BASE_PATH + "/{collection}/{sourced_id}", self.item, methods=["GET"]),
            Route("/_sandbox/advance", loopback_only(advance), methods=["POST"]),
            *inspection.routes(),
        ]
        self.chaos = Chaos(
            Starlette(routes=routes),
            settings,
            limit=_rate_limit,
            delays=_in_api,
            faults=_in_api,
            actions=FAULT_ACTIONS,
            statuses=(500, 502, 503),
            error=_chaos_error,
        )

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

    def _refused(self, request: Request) -> Response | None:
        check = self.tokens.check(request.headers.get("Authorization"))
        if check is TokenCheck.VALID:
            return None
        self.counters.unauthorized += 1
        problem = "the access token has expired" if check is TokenCheck.EXPIRED else "no token"
        return status_info(
            401,
            "unauthorisedrequest",
            problem,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    async def listing(self, request: Request) -> Response:
        name = request.path_params["collection"]
        if name not in COLLECTIONS:
            return status_info(404, "unknownobject", f"no collection {name}")
        refused = self._refused(request)
        if refused is not None:
            return refused
        query = request.query_params
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
            offset = int(query.get("offset", 0))
            if limit < 1 or offset < 0:
                raise ValueError
        except ValueError:
            return status_info(400, "invaliddata", "limit must be 1 or more, offset 0 or more")
        limit = min(limit, self._settings().max_limit)
        try:
            found = self.store.listing(name, query.get("filter"))
        except BadFilter as bad:
            return status_info(400, "invalid_filter_field", str(bad))
        self.counters.pages += 1
        page = found[offset : offset + limit]
        kept = {k: v for k, v in query.items() if k in ("filter", "sort", "orderBy", "fields")}
        url = str(request.url).split("?", 1)[0]
        headers = {
            "X-Total-Count": str(len(found)),
            "Link": _links(url, kept, offset, limit, len(found)),
        }
        return Response(orjson.dumps({name: page}), 200, headers, media_type="application/json")

    async def item(self, request: Request) -> Response:
        name, rid = request.path_params["collection"], request.path_params["sourced_id"]
        if name not in COLLECTIONS:
            return status_info(404, "unknownobject", f"no collection {name}")
        refused = self._refused(request)
        if refused is not None:
            return refused
        found = self.store.item(name, rid)
        if found is None:
            return status_info(404, "unknownobject", f"no {name} object {rid}")
        singular = {"academicSessions": "academicSession", "classes": "class"}.get(
            name, name.removesuffix("s")
        )
        return Response(orjson.dumps({singular: found}), media_type="application/json")
