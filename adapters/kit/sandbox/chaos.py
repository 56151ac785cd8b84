"""Throttling, latency and fault injection for whole HTTP requests, as ASGI middleware.

Wrapped around a sandbox's app, :class:`Chaos` does for each request, in this order: note when
it arrived, count it, throttle it (a sliding-window limit per key, 429 with Retry-After), wait
the injected latency, and draw a fault from the seeded dice. What a fault does is a
:class:`FaultAction`: refuse with a 5xx before the app runs, let the app apply the request and
then answer 5xx, hang past the client's timeout and answer 504, rewrite a successful answer (an
HTML error page, a cut-off body), or leave it to the app (:func:`injected_fault` tells it).

A service that throttles or fails parts of one request (Graph's ``$batch``) uses the
:class:`~adapters.kit.sandbox.limits.Limiter` and :class:`~adapters.kit.sandbox.faults.FaultDice`
per part instead, and lets this middleware add only the latency. Every wait is scaled by the
settings' time scale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import APPLIED_5XX, FAULT_STATUSES, REFUSED_5XX, TIMEOUT, FaultDice
from .limits import Limit, Limiter, Throttle
from .settings import KitSettings

ARRIVED_AT = "sandbox_arrived_at"
FAULT = "sandbox_fault"
INSPECTION_PREFIX = "/_sandbox"

# What an error answer looks like in this service: (status, reason, headers) -> Response, with
# reason one of "throttled", "fault", "timeout".
ErrorResponse = Callable[[int, str, Mapping[str, str]], Response]
Rewrite = Callable[[bytes], Response]


@dataclass(frozen=True)
class FaultAction:
    """What an injected fault of one kind does to a request."""

    how: Literal["refuse", "applied", "hang", "rewrite", "app"]
    rewrite: Rewrite | None = None


DEFAULT_ACTIONS: Mapping[str, FaultAction] = {
    REFUSED_5XX: FaultAction("refuse"),
    APPLIED_5XX: FaultAction("applied"),
    TIMEOUT: FaultAction("hang"),
}


@dataclass
class ChaosCounters:
    """Requests seen (outside the inspection endpoints), 429s sent, faults injected."""

    requests: int = 0
    throttled: int = 0
    faults: int = 0


def plain_error(status: int, reason: str, headers: Mapping[str, str]) -> Response:
    """A neutral JSON error, for services without a shape of their own."""
    body = b'{"error": "' + reason.encode() + b'"}'
    return Response(body, status, dict(headers), media_type="application/json")


def outside_inspection(path: str) -> bool:
    return not path.startswith(INSPECTION_PREFIX)


def arrived_at(request: Request) -> float:
    """The monotonic time the request arrived, before any injected latency."""
    value = request.scope.get("state", {}).get(ARRIVED_AT)
    return float(value) if value is not None else time.monotonic()


def injected_fault(request: Request) -> str | None:
    """The fault kind the middleware left for the app to apply (action ``app``), if any."""
    value = request.scope.get("state", {}).get(FAULT)
    return str(value) if value is not None else None


class Chaos:
    """ASGI middleware: throttle, delay and break requests as the live settings say."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Callable[[], KitSettings],
        *,
        limit: Callable[[KitSettings], Limit | None] | None = None,
        throttle_key: Callable[[Scope], Hashable] = lambda scope: "all",
        throttles: Callable[[str], bool] = outside_inspection,
        delays: Callable[[str], bool] = outside_inspection,
        faults: Callable[[str], bool] = outside_inspection,
        actions: Mapping[str, FaultAction] = DEFAULT_ACTIONS,
        statuses: Sequence[int] = FAULT_STATUSES,
        error: ErrorResponse = plain_error,
    ) -> None:
        self.app = app
        self._settings = settings
        self._limit = limit
        self._key = throttle_key
        self._throttles = throttles
        self._delays = delays
        self._faults = faults
        self._actions = actions
        self._statuses = tuple(statuses)
        self._error = error
        self.counters = ChaosCounters()
        self.limiter: Limiter[Hashable] = Limiter()
        self.dice = FaultDice(settings().seed)

    def reset(self) -> None:
        """Forget counters, windows and the fault sequence."""
        self.counters = ChaosCounters()
        self.limiter = Limiter()
        self.dice = FaultDice(self._settings().seed)

    def _throttle(self, scope: Scope, settings: KitSettings, arrived: float) -> Throttle | None:
        if self._limit is None:
            return None
        limit = self._limit(settings)
        now = time.monotonic()
        return self.limiter.check(self._key(scope), limit, now, arrived, scale=settings.time_scale)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        state: dict[str, Any] = scope.setdefault("state", {})
        state[ARRIVED_AT] = arrived
        path: str = scope["path"]
        settings = self._settings()
        if self._throttles(path) or self._delays(path) or self._faults(path):
            self.counters.requests += 1
        if self._throttles(path):
            throttle = self._throttle(scope, settings, arrived)
            if throttle is not None:
                self.counters.throttled += 1
                refusal = self._error(429, "throttled", {"Retry-After": throttle.header})
                await refusal(scope, receive, send)
                return
        if self._delays(path) and settings.latency_s > 0:
            await asyncio.sleep(settings.latency_s)
        kind = None
        if self._faults(path):
            self.dice.reseed(settings.seed)
            kind = self.dice.draw(settings.fault_rate, settings.fault_kinds)
        action = self._actions.get(kind) if kind is not None else None
        if action is None:
            await self.app(scope, receive, send)
            return
        await self._inject(kind or "", action, settings, scope, receive, send)

    async def _inject(
        self,
        kind: str,
        action: FaultAction,
        settings: KitSettings,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if action.how == "app":
            self.counters.faults += 1
            scope["state"][FAULT] = kind
            await self.app(scope, receive, send)
            return
        if action.how == "refuse":
            self.counters.faults += 1
            status = self.dice.choice(self._statuses)
            await self._error(status, "fault", {})(scope, receive, send)
            return
        if action.how == "hang":
            self.counters.faults += 1
            await asyncio.sleep(settings.scaled(settings.timeout_hang_s))
            await self._error(504, "timeout", {})(scope, receive, send)
            return
        status, headers, body = await self._buffered(scope, receive)
        if not 200 <= status < 300:  # nothing was applied: the app's own answer stands
            await Response(body, status, headers)(scope, receive, send)
            return
        self.counters.faults += 1
        if action.how == "rewrite" and action.rewrite is not None:
            await action.rewrite(body)(scope, receive, send)
            return
        status = self.dice.choice(self._statuses)
        await self._error(status, "fault", {})(scope, receive, send)

    async def _buffered(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, str], bytes]:
        """Run the app and keep its answer instead of sending it."""
        answer: dict[str, Any] = {"status": 500, "headers": {}}
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                    if k.lower() != b"content-length"
                }
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        return int(answer["status"]), dict(answer["headers"]), bytes(body)
