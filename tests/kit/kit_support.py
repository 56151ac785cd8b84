"""A tiny service built on the kit, served over real HTTP on loopback for the kit's tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

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
    SandboxServer,
)
from adapters.kit.sandbox.chaos import DEFAULT_ACTIONS


@dataclass
class CounterSettings(KitSettings):
    """A service that counts: ``POST /count`` adds one; 2 requests per 10 s by default."""

    limit: int = 0  # 0: unthrottled
    window_s: float = 10.0


@dataclass
class Counter:
    settings: CounterSettings = field(default_factory=CounterSettings)
    applied: int = 0


def _limit(settings: KitSettings) -> Limit | None:
    assert isinstance(settings, CounterSettings)
    if settings.limit <= 0:
        return None
    return Limit(settings.limit, settings.scaled(settings.window_s))


def counter_app(counter: Counter, actions: Mapping[str, FaultAction] = DEFAULT_ACTIONS) -> Chaos:
    async def count(request: Request) -> Response:
        counter.applied += 1
        return Response(f'{{"count": {counter.applied}}}', 200, media_type="application/json")

    inspection = Inspection(
        settings=lambda: counter.settings, state=lambda: {"applied": counter.applied}
    )
    app = Starlette(routes=[Route("/count", count, methods=["POST"]), *inspection.routes()])
    return Chaos(app, lambda: counter.settings, limit=_limit, actions=actions)


@contextmanager
def served(
    counter: Counter, actions: Mapping[str, FaultAction] = DEFAULT_ACTIONS
) -> Iterator[tuple[str, Chaos]]:
    app = counter_app(counter, actions)
    with SandboxServer(app, name="kit-test") as server:
        yield server.base_url, app
