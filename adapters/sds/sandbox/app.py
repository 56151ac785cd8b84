"""The sandbox's routes: Entra's token endpoint (client credentials), the industryData calls
of the upload path under ``/beta``, and the SAS container of an upload session under ``/blob``,
wrapped in the kit's Chaos for throttling, latency and faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from adapters.kit.sandbox import Chaos, Inspection, Limit, TokenEndpoint, json_response
from adapters.kit.sandbox.limits import Throttle
from adapters.kit.sandbox.tokens import TokenCheck

from .service import Store
from .settings import SandboxSettings

CONNECTOR = "/beta/external/industryData/dataConnectors/{connector}"
UPLOAD_SESSION = CONNECTOR + "/microsoft.graph.industryData.azureDataLakeConnector/getUploadSession"
OPERATION = "/beta/external/industryData/operations/{operation}"
RUNS = "/beta/external/industryData/runs"
BLOB = "/blob/{container}/{name}"


def graph_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "sandbox"}}}
    resp = json_response(body, status)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def chaos_error(status: int, reason: str, headers: Mapping[str, str]) -> Response:
    codes = {"throttled": "TooManyRequests", "timeout": "GatewayTimeout"}
    return graph_error(status, codes.get(reason, "ServiceUnavailable"), reason, headers)


def blob_error(status: int, code: str) -> Response:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code></Error>'
    return Response(body, status, {"x-ms-error-code": code}, media_type="application/xml")


class CountingChaos(Chaos):
    """The kit's Chaos, counting the requests that came again before their Retry-After."""

    early = 0

    def _throttle(self, scope: Scope, settings: Any, arrived: float) -> Throttle | None:
        throttle = super()._throttle(scope, settings, arrived)
        if throttle is not None and throttle.early:
            self.early += 1
        return throttle

    def reset(self) -> None:
        super().reset()
        self.early = 0


def build_app(
    store: Store,
    tokens: TokenEndpoint,
    settings: Callable[[], SandboxSettings],
    base: str,
    tenant_id: str,
    stats: Callable[[], dict[str, Any]],
    reset_stats: Callable[[], None],
) -> tuple[CountingChaos, Starlette]:
    def authorised(request: Request) -> Response | None:
        check = tokens.check(request.headers.get("Authorization"))
        if check is TokenCheck.VALID:
            return None
        code = "InvalidAuthenticationToken"
        text = (
            "Access token has expired."
            if check is TokenCheck.EXPIRED
            else "Access token is empty or invalid."
        )
        return graph_error(401, code, text)

    def connector_of(request: Request) -> Response | None:
        if request.path_params["connector"] != store.connector_id:
            return graph_error(404, "itemNotFound", "The data connector was not found.")
        return None

    async def upload_session(request: Request) -> Response:
        refusal = authorised(request) or connector_of(request)
        if refusal is not None:
            return refusal
        s = settings()
        session = store.open_session(s.session_lifetime_s)
        expires = datetime.now(UTC) + timedelta(seconds=s.session_lifetime_s)
        return json_response(
            {
                "@odata.type": "#microsoft.graph.industryData.fileUploadSession",
                "containerId": session.container_id,
                "sessionUrl": f"{base}/blob/{session.container_id}"
                f"?sv=2021-08-06&sp=cw&sig={session.signature}",
                "sessionExpirationDateTime": expires.isoformat().replace("+00:00", "Z"),
                "containerExpirationDateTime": (expires + timedelta(days=1))
                .isoformat()
                .replace("+00:00", "Z"),
            }
        )

    async def put_blob(request: Request) -> Response:
        if request.headers.get("x-ms-blob-type") != "BlockBlob":
            return blob_error(400, "MissingRequiredHeader")
        data = await request.body()
        status, code = store.put_blob(
            request.path_params["container"],
            request.query_params.get("sig", ""),
            request.path_params["name"],
            data,
        )
        if status != 201:
            return blob_error(status, code)
        return Response(b"", 201, {"ETag": '"0x1"'})

    async def validate(request: Request) -> Response:
        refusal = authorised(request) or connector_of(request)
        if refusal is not None:
            return refusal
        s = settings()
        fail = s.validate_errors > 0
        op = store.validate(s.scaled(s.validate_delay_s), fail)
        if op is None:
            return graph_error(
                400, "badRequest", "There is no upload session with files to validate."
            )
        if fail and op.status == "failed" and s.validate_errors > 0:
            s.validate_errors -= 1
        return Response(
            b"", 202, {"Location": f"{base}/beta/external/industryData/operations/{op.id}"}
        )

    async def operation(request: Request) -> Response:
        refusal = authorised(request)
        if refusal is not None:
            return refusal
        body = store.operation(request.path_params["operation"])
        if body is None:
            return graph_error(404, "itemNotFound", "The operation was not found.")
        return json_response(body)

    async def runs(request: Request) -> Response:
        refusal = authorised(request)
        if refusal is not None:
            return refusal
        with store.lock:
            value = [dict(r) for r in store.runs]
        return json_response({"value": value})

    routes = [
        Route(f"/{tenant_id}/oauth2/v2.0/token", tokens.handle, methods=["POST"]),
        Route(UPLOAD_SESSION, upload_session, methods=["GET"]),
        Route(CONNECTOR + "/validate", validate, methods=["POST"]),
        Route(OPERATION, operation, methods=["GET"]),
        Route(RUNS, runs, methods=["GET"]),
        Route(BLOB, put_blob, methods=["PUT"]),
        *Inspection(
            settings=settings, state=store.state, stats=stats, reset_stats=reset_stats
        ).routes(),
    ]
    app = Starlette(routes=routes)

    def limit(s: Any) -> Limit | None:
        if s.requests_per_window <= 0:
            return None
        return Limit(s.requests_per_window, s.scaled(s.window_s))

    def served(path: str) -> bool:
        return path.startswith(("/beta/", "/blob/"))

    def breakable(path: str) -> bool:
        where = "graph" if path.startswith("/beta/") else "blob"
        return served(path) and settings().faults_on in ("all", where)

    chaos = CountingChaos(
        app,
        settings,
        limit=limit,
        throttles=served,
        delays=served,
        faults=breakable,
        error=chaos_error,
    )
    return chaos, app
