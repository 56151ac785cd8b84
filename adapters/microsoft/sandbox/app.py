"""The ASGI app: Entra endpoints, Graph under /v1.0 and the /_sandbox inspection endpoints.

``/_sandbox/state``, ``/_sandbox/stats`` and ``/_sandbox/settings`` need no token but answer
loopback clients only (403 otherwise). Latency injection applies to every Entra and Graph HTTP
request (a $batch envelope once), never to /_sandbox.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .entra import Entra, OAuthError
from .errors import GraphError
from .graph import GraphResponse
from .pipeline import GraphService
from .settings import SettingsError, update_settings

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
GRAPH_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _graph_response(result: GraphResponse) -> Response:
    if result.body is None:
        return Response(b"", result.status, result.headers)
    return Response(
        orjson.dumps(result.body),
        result.status,
        result.headers,
        media_type="application/json;odata.metadata=minimal;odata.streaming=true;"
        "IEEE754Compatible=false;charset=utf-8",
    )


def build_app(
    service: GraphService, entra: Entra, extra_state: Callable[[], dict[str, Any]]
) -> Starlette:
    async def delay() -> None:
        latency_ms = service.settings.latency_ms
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000.0)

    async def openid(request: Request) -> Response:
        await delay()
        try:
            return _json(entra.openid_configuration(request.path_params["tenant"]))
        except OAuthError as err:
            return _json(err.body(), err.status)

    async def instance(request: Request) -> Response:
        await delay()
        endpoint = request.query_params.get("authorization_endpoint", "")
        return _json(entra.instance_discovery(endpoint))

    async def keys(request: Request) -> Response:
        return _json({"keys": []})

    async def token(request: Request) -> Response:
        await delay()
        form = dict(
            parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        )
        try:
            body = entra.issue_token(
                request.path_params["tenant"], form, service.settings.token_lifetime_s
            )
        except OAuthError as err:
            return _json(err.body(), err.status, {"Cache-Control": "no-store"})
        return _json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def graph(request: Request) -> Response:
        arrived_at = time.monotonic()
        await delay()
        headers = {k.lower(): v for k, v in request.headers.items()}
        caller: Any
        try:
            caller = entra.authenticate(headers.get("authorization"))
        except GraphError as err:
            caller = err
        result = await service.handle_http(
            request.method,
            "/" + request.path_params["rest"],
            request.url.query,
            headers,
            await request.body(),
            caller,
            arrived_at,
        )
        return _graph_response(result)

    def loopback(request: Request) -> bool:
        return request.client is not None and request.client.host in LOOPBACK

    async def state(request: Request) -> Response:
        if not loopback(request):
            return _json({"error": "the sandbox inspection endpoints answer loopback only"}, 403)
        return _json({**extra_state(), **service.state()})

    async def stats(request: Request) -> Response:
        if not loopback(request):
            return _json({"error": "the sandbox inspection endpoints answer loopback only"}, 403)
        return _json(service.stats().to_dict())

    async def settings_endpoint(request: Request) -> Response:
        if not loopback(request):
            return _json({"error": "the sandbox inspection endpoints answer loopback only"}, 403)
        if request.method == "POST":
            try:
                changes = orjson.loads(await request.body())
                if not isinstance(changes, dict):
                    raise SettingsError("the body must be a JSON object of setting: value")
                with service.lock:
                    update_settings(service.settings, changes)
            except orjson.JSONDecodeError:
                return _json({"error": "the body is not valid JSON"}, 400)
            except SettingsError as err:
                return _json({"error": str(err)}, 400)
        return _json(service.settings.to_dict())

    async def reset_stats(request: Request) -> Response:
        if not loopback(request):
            return _json({"error": "the sandbox inspection endpoints answer loopback only"}, 403)
        service.reset_stats()
        return Response(b"", 204)

    routes = [
        Route("/common/discovery/instance", instance, methods=["GET"]),
        Route("/_sandbox/state", state, methods=["GET"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", reset_stats, methods=["POST"]),
        Route("/_sandbox/settings", settings_endpoint, methods=["GET", "POST"]),
        Route("/v1.0/{rest:path}", graph, methods=GRAPH_METHODS),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/{tenant}/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
    return Starlette(routes=routes)
