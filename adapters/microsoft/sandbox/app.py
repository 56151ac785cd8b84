"""The ASGI app: Entra endpoints, Graph under /v1.0 and the kit's /_sandbox endpoints.

``/_sandbox/state``, ``/_sandbox/stats`` and ``/_sandbox/settings`` need no token but answer
loopback clients only (403 otherwise). Latency (the kit's middleware) applies to every Entra and
Graph HTTP request (a $batch envelope once), never to /_sandbox or the signing keys; throttling
and faults apply per Graph request inside the pipeline, so that each inner request of a $batch
meets them on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from adapters.kit.sandbox import Chaos, Inspection, arrived_at

from .entra import Entra, OAuthError
from .errors import GraphError
from .graph import GraphResponse
from .pipeline import GraphService

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


def _delayed(path: str) -> bool:
    return not path.startswith("/_sandbox") and not path.endswith("/discovery/v2.0/keys")


def build_app(
    service: GraphService, entra: Entra, extra_state: Callable[[], dict[str, Any]]
) -> ASGIApp:
    async def openid(request: Request) -> Response:
        try:
            return _json(entra.openid_configuration(request.path_params["tenant"]))
        except OAuthError as err:
            return _json(err.body(), err.status)

    async def instance(request: Request) -> Response:
        endpoint = request.query_params.get("authorization_endpoint", "")
        return _json(entra.instance_discovery(endpoint))

    async def keys(request: Request) -> Response:
        return _json({"keys": []})

    async def token(request: Request) -> Response:
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
            arrived_at(request),
        )
        return _graph_response(result)

    inspection = Inspection(
        settings=lambda: service.settings,
        state=lambda: {**extra_state(), **service.state()},
        stats=lambda: service.stats().to_dict(),
        reset_stats=service.reset_stats,
        lock=lambda: service.lock,
    )
    routes = [
        Route("/common/discovery/instance", instance, methods=["GET"]),
        *inspection.routes(),
        Route("/v1.0/{rest:path}", graph, methods=GRAPH_METHODS),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/{tenant}/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
    return Chaos(
        Starlette(routes=routes),
        lambda: service.settings,
        delays=_delayed,
        throttles=lambda path: False,  # per Graph request, in the pipeline
        faults=lambda path: False,  # likewise
    )
