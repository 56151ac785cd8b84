"""The Graph request pipeline: count, throttle, inject faults, dispatch, decorate; and $batch.

Every unit request (a plain Graph request or one inner request of a $batch) goes through
:meth:`GraphService.execute` in this order: stats, throttling (directory writes and team
creation, per app + tenant), fault injection, the handler under the store lock, response
headers. ``$batch`` (reference §3.1): at most 20 requests, unique case-insensitive ids,
``dependsOn`` honoured (a failed dependency answers 424), responses shuffled so clients must
correlate by id, each inner request throttled and counted on its own.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from adapters.kit.sandbox import (
    APPLIED_5XX,
    FAULT_STATUSES,
    REFUSED_5XX,
    TIMEOUT,
    FaultDice,
    Limiter,
    Throttle,
)

from . import directory, education, teams, tenant
from .directory import password_digest
from .entra import Caller
from .errors import GraphError, error_body
from .graph import Ctx, GraphRequest, GraphResponse, Router, normalise_path
from .limits import TEAM_SCOPE, WRITE_SCOPE, scope_limit
from .odata import TokenCodec
from .settings import SandboxSettings, SandboxStats, StatsCounter
from .store import Store

log = logging.getLogger(__name__)

ThrottleKey = tuple[Caller, str]  # app + tenant, scope
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_BATCH = 20
FAULT_ERRORS = {
    500: ("generalException", "General exception while processing."),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Retry later."),
    504: ("GatewayTimeout", "The upstream service did not answer in time."),
}


def parse_query(query: str) -> dict[str, str]:
    return {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}


class GraphService:
    """Graph v1.0 over one store, shared by the HTTP app and the in-process API."""

    def __init__(
        self,
        store: Store,
        settings: SandboxSettings,
        codec: TokenCodec,
        graph_url: str,
        domain: str,
    ) -> None:
        self.store = store
        self.settings = settings
        self.codec = codec
        self.graph_url = graph_url
        self.domain = domain
        self.lock = threading.Lock()
        self.counter = StatsCounter()
        self.limiter: Limiter[ThrottleKey] = Limiter()
        self.faults = FaultDice(settings.seed)
        self._batch_rng = random.Random(settings.seed + 1)
        self.router = Router()
        directory.register(self.router)
        education.register(self.router)
        teams.register(self.router)
        tenant.register(self.router)

    def reset(self) -> None:
        """Forget every object, counter, throttling window and fault draw."""
        with self.lock:
            self.store = Store(self.settings.seed)
            self.counter = StatsCounter()
            self.limiter = Limiter()
            self.faults = FaultDice(self.settings.seed)
            self._batch_rng = random.Random(self.settings.seed + 1)

    # stats --------------------------------------------------------------------------------

    def stats(self) -> SandboxStats:
        with self.lock:
            return self.counter.snapshot(SandboxStats)

    def reset_stats(self) -> None:
        with self.lock:
            self.counter = StatsCounter()

    def _error(self, err: GraphError, request_id: str, client_request_id: str) -> GraphResponse:
        body = error_body(err.code, err.message, request_id, client_request_id)
        return GraphResponse(err.status, body, dict(err.headers))

    # the outer HTTP request ---------------------------------------------------------------

    async def handle_http(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        raw: bytes,
        caller: Caller | GraphError,
        arrived_at: float | None = None,
    ) -> GraphResponse:
        """One HTTP request under /v1.0 (``path`` relative to it); ``caller`` from Entra;
        ``arrived_at`` the monotonic time it arrived (before injected latency)."""
        arrived = time.monotonic() if arrived_at is None else arrived_at
        client_request_id = headers.get("client-request-id") or str(uuid.uuid4())
        request_id = str(uuid.uuid4())
        if isinstance(caller, GraphError):
            with self.lock:
                self.counter.requests += 1
                self.counter.count_status(caller.status)
            response = self._error(caller, request_id, client_request_id)
            response.headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
            return self._decorate(response, request_id, client_request_id)
        try:
            body = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            body = GraphError(400, "BadRequest", "Invalid JSON in the request body.")
        norm = normalise_path(path)
        if norm.lower() == "/$batch" and method == "POST":
            return await self._batch(body, caller, arrived, request_id, client_request_id)
        request = GraphRequest(method, norm, parse_query(query), headers, body, caller, arrived)
        return await self.execute(request, client_request_id)

    # one unit request ---------------------------------------------------------------------

    @staticmethod
    def _scope(req: GraphRequest) -> str | None:
        if req.method not in WRITE_METHODS:
            return None
        parts = req.path.lower().strip("/").split("/")
        if parts[0] == "teams" and req.method == "POST" and len(parts) == 1:
            return TEAM_SCOPE
        if parts[0] == "groups" and len(parts) == 3 and parts[2] == "team":
            return TEAM_SCOPE
        if parts[0] in ("users", "groups", "education"):
            # Education writes land in the directory, so they share its write quota
            # [unverified: the reference gives education its own, higher request limit].
            return WRITE_SCOPE
        return None

    @staticmethod
    def _resource_units(req: GraphRequest) -> int:
        """Cost per reference §4.2 (identity paths)."""
        if req.method in WRITE_METHODS:
            return 1
        path = req.path.lower()
        cost = 2 if path == "/users" else 3 if path.endswith("/members") else 1
        if req.option("$select") is not None:
            cost -= 1
        if req.option("$expand") is not None:
            cost += 1
        top = req.option("$top")
        if top is not None and top.isdigit() and int(top) < 20:
            cost -= 1
        return max(1, cost)

    def _throttled(
        self,
        req: GraphRequest,
        scope: str,
        throttle: Throttle,
        request_id: str,
        client_request_id: str,
    ) -> GraphResponse:
        headers = {"Retry-After": throttle.header}
        if scope == WRITE_SCOPE:
            caller = req.caller
            headers["x-ms-throttle-scope"] = (
                f"Tenant_Application/Write/{caller.client_id}/{caller.tenant_id}"
            )
            headers["x-ms-throttle-information"] = "WriteLimitExceeded"
        # Graph's throttling body; the code follows Dev Proxy's mock [memory].
        err = GraphError(
            429,
            "TooManyRequests",
            f"Too many requests. Retry after {throttle.header} seconds.",
            headers,
        )
        return self._error(err, request_id, client_request_id)

    def _fault(self, status: int, request_id: str, client_request_id: str) -> GraphResponse:
        code, message = FAULT_ERRORS[status]
        headers = {"Retry-After": "1"} if status == 503 else {}
        return self._error(
            GraphError(status, code, message, headers), request_id, client_request_id
        )

    async def execute(self, req: GraphRequest, client_request_id: str) -> GraphResponse:
        request_id = str(uuid.uuid4())
        write = req.method in WRITE_METHODS
        scope = self._scope(req)
        with self.lock:
            self.counter.requests += 1
            if write:
                self.counter.write_requests += 1
            throttle = None
            if scope is not None:
                throttle = self.limiter.check(
                    (req.caller, scope),
                    scope_limit(scope, self.settings),
                    time.monotonic(),
                    req.arrived_at,
                    scale=self.settings.time_scale,
                    pending=req.batch_throttles,
                )
                if throttle is not None and throttle.early:
                    self.counter.early_retries += 1
            fault = None
            if throttle is None:
                self.faults.reseed(self.settings.seed)
                fault = self.faults.draw(self.settings.fault_rate, self.settings.fault_kinds)
            fault_status = self.faults.choice(FAULT_STATUSES) if fault is not None else 0
            if fault is not None:
                self.counter.faults_injected += 1
        if throttle is not None and scope is not None:
            response = self._throttled(req, scope, throttle, request_id, client_request_id)
        elif fault == REFUSED_5XX:
            response = self._fault(fault_status, request_id, client_request_id)
        elif fault == TIMEOUT:
            await asyncio.sleep(self.settings.scaled(self.settings.timeout_hang_s))
            response = self._fault(504, request_id, client_request_id)
        else:
            response = self._dispatch(req, request_id, client_request_id)
            if fault == APPLIED_5XX:
                response = self._fault(fault_status, request_id, client_request_id)
        response.headers["x-ms-resource-unit"] = str(self._resource_units(req))
        if scope == WRITE_SCOPE:
            with self.lock:
                usage = self.limiter.usage(
                    (req.caller, WRITE_SCOPE),
                    scope_limit(WRITE_SCOPE, self.settings),
                    time.monotonic(),
                )
            if usage >= 0.8:
                response.headers["x-ms-throttle-limit-percentage"] = f"{usage:.1f}"
        with self.lock:
            self.counter.count_status(response.status)
        return self._decorate(response, request_id, client_request_id)

    @staticmethod
    def _decorate(
        response: GraphResponse, request_id: str, client_request_id: str
    ) -> GraphResponse:
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id
        return response

    def _dispatch(
        self, req: GraphRequest, request_id: str, client_request_id: str
    ) -> GraphResponse:
        try:
            if isinstance(req.body, GraphError):
                raise req.body
            handler, params = self.router.resolve(req.method, req.path)
            with self.lock:
                ctx = Ctx(
                    self.store,
                    self.settings,
                    self.codec,
                    self.graph_url,
                    time.monotonic(),
                    self.domain,
                )
                return handler(ctx, req, **params)
        except GraphError as err:
            return self._error(err, request_id, client_request_id)
        except Exception:  # a sandbox bug must still answer like Graph, and be visible
            log.exception("sandbox handler failed for %s %s", req.method, req.path)
            return self._error(
                GraphError(500, "generalException", "General exception while processing."),
                request_id,
                client_request_id,
            )

    # $batch -------------------------------------------------------------------------------

    def _batch_items(self, body: Any) -> list[dict[str, Any]]:
        if isinstance(body, GraphError):
            raise body
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise GraphError(400, "BadRequest", "A batch body must hold a 'requests' array.")
        items: list[dict[str, Any]] = body["requests"]
        if not items:
            raise GraphError(400, "BadRequest", "A batch must hold at least one request.")
        if len(items) > MAX_BATCH:
            raise GraphError(
                400, "BadRequest", f"The batch holds {len(items)} requests; the limit is 20."
            )
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) and item.get(k) for k in ("id", "method", "url")
            ):
                raise GraphError(400, "BadRequest", "Each batch request needs id, method and url.")
            key = item["id"].lower()
            if key in seen:
                raise GraphError(400, "BadRequest", f"Batch request id '{item['id']}' is repeated.")
            seen.add(key)
        for item in items:
            if not isinstance(item.get("dependsOn") or [], list):
                raise GraphError(400, "BadRequest", "dependsOn must be an array of request ids.")
            for dep in item.get("dependsOn") or []:
                if (
                    not isinstance(dep, str)
                    or dep.lower() not in seen
                    or dep.lower() == item["id"].lower()
                ):
                    raise GraphError(
                        400, "BadRequest", f"dependsOn names an unknown request '{dep}'."
                    )
        return self._ordered(items)

    @staticmethod
    def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        done: set[str] = set()
        ordered: list[dict[str, Any]] = []
        pending = list(items)
        while pending:
            ready = [i for i in pending if all(d.lower() in done for d in i.get("dependsOn") or [])]
            if not ready:
                raise GraphError(400, "BadRequest", "The batch's dependsOn form a cycle.")
            for item in ready:
                ordered.append(item)
                done.add(item["id"].lower())
                pending.remove(item)
        return ordered

    @staticmethod
    def _inner_request(
        item: dict[str, Any],
        caller: Caller,
        arrived_at: float,
        throttles: list[tuple[Caller, str]],
    ) -> GraphRequest:
        url = item["url"]
        parts = urlsplit(url)
        path = parts.path
        if "/v1.0/" in path or path.endswith("/v1.0"):
            path = path.split("/v1.0", 1)[1]
        if not path.startswith("/"):
            path = "/" + path
        raw_headers = item.get("headers") or {}
        headers = (
            {str(k).lower(): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, dict)
            else {}
        )
        body: Any = item.get("body")
        if body is not None:
            if "content-type" not in headers:
                body = GraphError(
                    400, "BadRequest", "A request with a body needs a Content-Type header."
                )
            elif isinstance(body, str):
                try:
                    body = orjson.loads(base64.b64decode(body))
                except (ValueError, orjson.JSONDecodeError):
                    body = GraphError(400, "BadRequest", "The base64 body is not JSON.")
        return GraphRequest(
            item["method"].upper(),
            normalise_path(path),
            parse_query(parts.query),
            headers,
            body,
            caller,
            arrived_at,
            throttles,
        )

    async def _batch(
        self,
        body: Any,
        caller: Caller,
        arrived_at: float,
        request_id: str,
        client_request_id: str,
    ) -> GraphResponse:
        with self.lock:
            self.counter.requests += 1
            self.counter.batch_requests += 1
        try:
            items = self._batch_items(body)
        except GraphError as err:
            response = self._error(err, request_id, client_request_id)
            with self.lock:
                self.counter.count_status(response.status)
            return self._decorate(response, request_id, client_request_id)
        statuses: dict[str, int] = {}
        responses: list[dict[str, Any]] = []
        throttles: list[ThrottleKey] = []
        for item in items:
            failed = [d for d in item.get("dependsOn") or [] if statuses[d.lower()] >= 400]
            if failed:
                with self.lock:
                    self.counter.requests += 1
                    if item["method"].upper() in WRITE_METHODS:
                        self.counter.write_requests += 1
                    self.counter.count_status(424)
                dep_error = GraphError(
                    424,
                    "Request_FailedDependency",
                    f"The request depends on '{failed[0]}', which failed.",
                )
                inner = self._error(dep_error, str(uuid.uuid4()), client_request_id)
            else:
                unit = self._inner_request(item, caller, arrived_at, throttles)
                inner = await self.execute(unit, client_request_id)
            statuses[item["id"].lower()] = inner.status
            entry: dict[str, Any] = {
                "id": item["id"],
                "status": inner.status,
                "headers": dict(inner.headers),
            }
            if inner.body is not None:
                entry["headers"]["Content-Type"] = "application/json"
                entry["body"] = inner.body
            responses.append(entry)
        with self.lock:
            self._batch_rng.shuffle(responses)
            self.counter.count_status(200)
            self.limiter.delivered(throttles, time.monotonic())
        return self._decorate(
            GraphResponse(200, {"responses": responses}), request_id, client_request_id
        )

    # inspection and hand-made drift -------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            store = self.store
            return {
                "users": [{"id": u.id, **u.props} for u in store.users.values()],
                "groups": [
                    {
                        "id": g.id,
                        **g.props,
                        "isClass": g.is_class,
                        "education": dict(g.edu) if g.edu is not None else None,
                        "members": sorted(g.members),
                        "owners": sorted(g.owners),
                        "schools": sorted(g.schools),
                        "hasTeam": g.id in store.teams,
                    }
                    for g in store.groups.values()
                ],
                "schools": [
                    {"id": s.id, **s.props, "users": sorted(s.users), "classes": sorted(s.classes)}
                    for s in store.schools.values()
                ],
                "teams": [
                    {
                        "id": t.id,
                        "template": t.template,
                        "isArchived": t.archived,
                        "ready": time.monotonic() >= t.ready_at,
                    }
                    for t in store.teams.values()
                ],
            }

    def sign_in(self, upn: str, password: str) -> str:
        """A password sign-in by a user, as the tests make it: "ok", "change" (signed in, and
        must change the password first), or "refused"."""
        with self.lock:
            found = self.store.find_users("userPrincipalName", upn)
            user = found[0] if found else None
            if user is None or not user.password_hash:
                return "refused"
            if not hmac.compare_digest(
                password_digest(password, user.password_salt), user.password_hash
            ):
                return "refused"
            return "change" if user.force_change else "ok"

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self.lock:
            group = self.store.groups.get(group_id)
            if group is None:
                raise KeyError(f"no group {group_id!r} in the sandbox")
            if user_id not in group.members:
                raise KeyError(f"user {user_id!r} is not a member of group {group_id!r}")
            self.store.unlink(group, "members", user_id)

    def rename_group(self, group_id: str, display_name: str) -> None:
        with self.lock:
            group = self.store.groups.get(group_id)
            if group is None:
                raise KeyError(f"no group {group_id!r} in the sandbox")
            self.store.update_group(group, {"displayName": display_name})
