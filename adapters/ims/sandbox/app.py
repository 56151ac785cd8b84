"""The IMS sandbox's HTTP side: the Organization API's complete export behind an API key
(mutual TLS is the server's: no client certificate, no handshake), the /_sandbox routes, and
the kit's middleware for throttling, latency and injected faults.

The documents follow Tieto's published schema (``tieto-edu-organization-v12.xsd``,
``typeofservice`` ``CompleteOrganization`` and ``DeltaOrganization``). The addresses
(``/organization/v12/complete``, ``/organization/v12/delta?from=…``), the delta's parameter and
the key's header are this sandbox's choice: Tieto's URL layout, parameter and header names are
in its technical specifications, which no public text confirms here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.ims.sandbox.settings import SandboxSettings
from adapters.kit.sandbox import (
    Chaos,
    FaultAction,
    Inspection,
    KitSettings,
    Limit,
    loopback_only,
)

COMPLETE_PATH = "/organization/v12/complete"
DELTA_PATH = "/organization/v12/delta"
SINCE = "from"  # unverified: Tieto's name for the delta's "since" parameter is not public
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1></body></html>"
)
XML = "application/xml; charset=utf-8"


def _html(body: bytes) -> Response:
    return Response(HTML_PAGE, 200, media_type="text/html")


def _truncated(body: bytes) -> Response:
    return Response(body[: max(1, len(body) // 2)], 200, media_type=XML)


FAULT_ACTIONS: Mapping[str, FaultAction] = {
    "5xx": FaultAction("refuse"),
    "html": FaultAction("rewrite", _html),
    "truncated": FaultAction("rewrite", _truncated),
    "timeout": FaultAction("hang"),
}


def _plain(status: int, reason: str, headers: Mapping[str, str]) -> Response:
    return Response(reason, status, dict(headers), media_type="text/plain")


def _rate_limit(settings: KitSettings) -> Limit | None:
    assert isinstance(settings, SandboxSettings)
    return Limit.per_second(settings.requests_per_second, settings.time_scale)


def _in_api(path: str) -> bool:
    return not path.startswith("/_sandbox")


@dataclass
class Counters:
    documents: int = 0
    deltas: int = 0
    refused_keys: int = 0


class Service:
    """The handlers' shared state: the served document, the key, counters, the middleware."""

    def __init__(
        self,
        settings: Callable[[], SandboxSettings],
        document: Callable[[], bytes],
        delta: Callable[[datetime], bytes | None],
        api_key: str,
        advance: Callable[[Request], Any],
        describe: Callable[[], dict[str, Any]],
    ) -> None:
        self._settings = settings
        self._document = document
        self._delta = delta
        self.api_key = api_key
        self.counters = Counters()
        inspection = Inspection(settings=settings, state=describe, stats=self.stats)
        routes = [
            Route(COMPLETE_PATH, self.complete, methods=["GET"]),
            Route(DELTA_PATH, self.delta, methods=["GET"]),
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
            error=_plain,
        )

    def stats(self) -> dict[str, int]:
        chaos = self.chaos.counters
        return {
            "requests": chaos.requests,
            "documents": self.counters.documents,
            "deltas": self.counters.deltas,
            "refused_keys": self.counters.refused_keys,
            "throttled": chaos.throttled,
            "faults": chaos.faults,
        }

    def _refused(self, request: Request) -> Response | None:
        given = request.headers.get(self._settings().api_key_header, "")
        if secrets.compare_digest(given.encode(), self.api_key.encode()):
            return None
        self.counters.refused_keys += 1
        return Response("the API key is missing or wrong", 401, media_type="text/plain")

    async def complete(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        self.counters.documents += 1
        return Response(self._document(), 200, media_type=XML)

    async def delta(self, request: Request) -> Response:
        """A ``DeltaOrganization`` export of what changed since ``from`` (an ISO date and
        time); 400 when it is missing or no time."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        text = request.query_params.get(SINCE, "")
        try:
            since = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return Response(f"{SINCE} must be a date and time", 400, media_type="text/plain")
        body = self._delta(since if since.tzinfo else since.replace(tzinfo=UTC))
        if body is None:
            return Response(
                f"{SINCE} is before the first export this server keeps",
                400,
                media_type="text/plain",
            )
        self.counters.deltas += 1
        return Response(body, 200, media_type=XML)
