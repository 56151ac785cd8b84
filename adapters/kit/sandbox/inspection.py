"""The ``/_sandbox`` endpoints every sandbox has: settings (GET and POST), state, stats.

They need no token but answer loopback clients only (403 otherwise), and are never throttled,
delayed or broken. ``POST /_sandbox/settings`` takes a JSON object of ``setting: value`` and
applies it all or nothing (400 naming the bad field); both methods answer the settings now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .settings import KitSettings, SettingsError, apply_changes

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
PREFIX = "/_sandbox"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def loopback_only(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Refuse clients that are not on this machine."""

    async def guarded(request: Request) -> Response:
        if request.client is None or request.client.host not in LOOPBACK:
            return json_response(
                {"error": "the sandbox inspection endpoints answer loopback only"}, 403
            )
        return await handler(request)

    return guarded


@dataclass(frozen=True)
class Inspection:
    """What a sandbox shows and lets change under /_sandbox."""

    settings: Callable[[], KitSettings]
    state: Callable[[], dict[str, Any]] | None = None
    stats: Callable[[], dict[str, Any]] | None = None
    reset_stats: Callable[[], None] | None = None
    lock: Callable[[], AbstractContextManager[Any]] = nullcontext  # held while settings change

    def routes(self) -> list[Route]:
        async def settings_endpoint(request: Request) -> Response:
            if request.method == "POST":
                try:
                    changes = orjson.loads(await request.body())
                    if not isinstance(changes, dict):
                        raise SettingsError("the body must be a JSON object of setting: value")
                    with self.lock():
                        apply_changes(self.settings(), changes)
                except orjson.JSONDecodeError:
                    return json_response({"error": "the body is not valid JSON"}, 400)
                except SettingsError as err:
                    return json_response({"error": str(err)}, 400)
            return json_response(self.settings().to_dict())

        routes = [
            Route(f"{PREFIX}/settings", loopback_only(settings_endpoint), methods=["GET", "POST"])
        ]
        state, stats, reset_stats = self.state, self.stats, self.reset_stats
        if state is not None:

            async def state_endpoint(request: Request) -> Response:
                return json_response(state())

            routes.append(Route(f"{PREFIX}/state", loopback_only(state_endpoint), methods=["GET"]))
        if stats is not None:

            async def stats_endpoint(request: Request) -> Response:
                return json_response(stats())

            routes.append(Route(f"{PREFIX}/stats", loopback_only(stats_endpoint), methods=["GET"]))
        if reset_stats is not None:

            async def reset_endpoint(request: Request) -> Response:
                reset_stats()
                return Response(b"", 204)

            routes.append(
                Route(f"{PREFIX}/stats/reset", loopback_only(reset_endpoint), methods=["POST"])
            )
        return routes
