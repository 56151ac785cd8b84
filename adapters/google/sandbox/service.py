"""The request pipeline: every API call, direct or a part of a batch, is authenticated,
counted against its quotas, may meet an injected fault, and is answered on its own.

Quotas count calls, not HTTP requests: each part of a batch is checked alone against
Classroom's per-user and per-project windows or the Directory's per-user window, and a part
refused gets its own 429 (Classroom, ``RESOURCE_EXHAUSTED``) or 403 ``userRateLimitExceeded``
(Directory) with a Retry-After. Faults are drawn per call as well: ``5xx`` refuses the call,
``applied_5xx`` applies it and answers 5xx, ``timeout`` leaves it unapplied and lets the whole
HTTP request hang, then answer 504.
"""

from __future__ import annotations

import asyncio
import email.parser
import json
import secrets
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from adapters.kit.sandbox import (
    APPLIED_5XX,
    FAULT_STATUSES,
    REFUSED_5XX,
    TIMEOUT,
    FaultDice,
    Limit,
    Limiter,
    TokenCheck,
    TokenEndpoint,
)
from adapters.kit.sandbox.reports import KitCounters

from .auth import Grant
from .errors import Api, ApiError, invalid
from .routing import Call, Route, api_of, find
from .settings import SandboxSettings, SandboxStats

IGNORED_PARAMS = frozenset({"alt", "prettyPrint", "quotaUser", "$.xgafv", "fields", "key"})
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
UNAUTHENTICATED = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    timed_out: bool = False  # the call drew a timeout: the HTTP request hangs, then 504s


@dataclass(frozen=True)
class RawCall:
    method: str
    target: str  # path and query, as sent
    authorization: str | None
    body: bytes


@dataclass
class Counters(KitCounters):
    http_requests: int = 0
    calls: int = 0
    write_calls: int = 0
    classroom_calls: int = 0
    largest_batch: int = 0


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    data = b"" if body is None else json.dumps(body).encode()
    out = {"Content-Type": "application/json; charset=UTF-8"} if body is not None else {}
    return Answer(status, {**out, **(headers or {})}, data)


def _error(err: ApiError, api: Api) -> Answer:
    return _json(err.code, err.body(api), err.headers)


class Pipeline:
    """Authenticates, throttles, breaks and dispatches calls."""

    def __init__(
        self,
        routes: Sequence[Route],
        tokens: TokenEndpoint,
        grants: dict[str, Grant],
        settings: Callable[[], SandboxSettings],
    ) -> None:
        self.routes = routes
        self.tokens = tokens
        self.grants = grants  # access token -> grant
        self.settings = settings
        self.counters = Counters()
        self.limiter: Limiter[Hashable] = Limiter()
        self.dice = FaultDice(settings().seed)

    def reset_stats(self) -> None:
        self.counters = Counters()
        self.limiter = Limiter()
        self.dice = FaultDice(self.settings().seed)

    def stats(self) -> SandboxStats:
        return self.counters.snapshot(SandboxStats)

    # -- one call ---------------------------------------------------------------------------

    def _authorize(self, raw: RawCall, route: Route) -> Grant:
        check = self.tokens.check(raw.authorization)
        grant = None
        if check is TokenCheck.VALID:
            grant = self.grants.get((raw.authorization or "").partition(" ")[2])
        if grant is None:
            text = (
                UNAUTHENTICATED
                if check is TokenCheck.MISSING
                else "Request had invalid authentication credentials."
            )
            raise ApiError(
                401,
                text,
                "UNAUTHENTICATED",
                "authError",
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        readonly = {s + ".readonly" for s in route.scopes}
        allowed = route.scopes | (readonly if route.method == "GET" else set())
        if not grant.scopes & allowed:
            raise ApiError(
                403,
                "Request had insufficient authentication scopes.",
                "PERMISSION_DENIED",
                "insufficientPermissions",
            )
        if route.api == "classroom" and not self.settings().classroom_api_enabled:
            raise ApiError(
                403,
                "@ClassroomApiDisabled The user is not permitted to access the Classroom API.",
                "PERMISSION_DENIED",
            )
        return grant

    def _throttle(self, api: Api, subject: str, pending: list[Hashable] | None) -> ApiError | None:
        settings = self.settings()
        window = settings.scaled(60.0)
        now = time.monotonic()
        checks: list[tuple[tuple[str, str], int]]
        if api == "classroom":
            checks = [
                (("classroom", "project"), settings.classroom_per_project_per_min),
                (("classroom", subject), settings.classroom_per_user_per_min),
            ]
        else:
            checks = [(("directory", subject), settings.directory_per_user_per_min)]
        for key, count in checks:
            limit = Limit(count, window) if count > 0 else None
            refusal = self.limiter.check(
                key, limit, now, now, scale=settings.time_scale, pending=pending
            )
            if refusal is None:
                continue
            self.counters.throttled += 1
            self.counters.early_retries += int(refusal.early)
            headers = {"Retry-After": refusal.header}
            if api == "directory":
                return ApiError(
                    403,
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per "
                    "minute per user' of service 'admin.googleapis.com'.",
                    "PERMISSION_DENIED",
                    "userRateLimitExceeded",
                    headers,
                )
            per = "project" if key == ("classroom", "project") else "user"
            return ApiError(
                429,
                f"Quota exceeded for quota metric 'Requests' and limit 'Requests per minute "
                f"per {per}' of service 'classroom.googleapis.com'.",
                "RESOURCE_EXHAUSTED",
                "rateLimitExceeded",
                headers,
            )
        return None

    def call(self, raw: RawCall, pending: list[Hashable] | None = None) -> Answer:
        """Answer one call; counts it and its status."""
        answer = self._call(raw, pending)
        self.counters.calls += 1
        self.counters.write_calls += int(raw.method in WRITES)
        self.counters.classroom_calls += int(api_of(urlsplit(raw.target).path) == "classroom")
        if not answer.timed_out:
            self.counters.count_status(answer.status)
        return answer

    def _call(self, raw: RawCall, pending: list[Hashable] | None) -> Answer:
        parts = urlsplit(raw.target)
        api = api_of(parts.path)
        found = find(self.routes, raw.method, parts.path)
        if found is None:
            return _error(ApiError(404, "Not Found", "NOT_FOUND", "notFound"), api)
        route, params = found
        try:
            grant = self._authorize(raw, route)
        except ApiError as err:
            return _error(err, route.api)
        refusal = self._throttle(route.api, grant.subject, pending)
        if refusal is not None:
            return _error(refusal, route.api)
        settings = self.settings()
        self.dice.reseed(settings.seed)
        fault = self.dice.draw(settings.fault_rate, settings.fault_kinds)
        if fault is not None:
            self.counters.faults_injected += 1
        if fault == REFUSED_5XX:
            return self._fault(route.api)
        if fault == TIMEOUT:
            return Answer(504, {}, b"", timed_out=True)
        query = {
            k: v
            for k, v in parse_qs(parts.query, keep_blank_values=True).items()
            if k not in IGNORED_PARAMS
        }
        try:
            body = json.loads(raw.body) if raw.body.strip() else None
            call = Call(raw.method, params, query, body, grant.subject)
            status, out = route.handler(call)
        except ApiError as err:
            return _error(err, route.api)
        except ValueError:
            return _error(invalid("Invalid JSON payload or parameter value."), route.api)
        if fault == APPLIED_5XX:
            return self._fault(route.api)
        return _json(status, out)

    def _fault(self, api: Api) -> Answer:
        status = self.dice.choice(FAULT_STATUSES)
        text = "The service is currently unavailable." if status != 500 else "Internal error."
        return _error(ApiError(status, text, reason="backendError"), api)

    async def direct(self, raw: RawCall) -> Answer:
        self.counters.http_requests += 1
        answer = self.call(raw)
        if answer.timed_out:
            await self._hang()
        return answer

    async def _hang(self) -> None:
        settings = self.settings()
        await asyncio.sleep(settings.scaled(settings.timeout_hang_s))
        self.counters.count_status(504)

    # -- batches ----------------------------------------------------------------------------

    async def batch(self, content_type: str, body: bytes, authorization: str | None) -> Answer:
        """A ``multipart/mixed`` batch: each part answered alone, in a multipart reply that
        echoes each Content-ID as ``<response-…>``."""
        self.counters.http_requests += 1
        self.counters.batch_requests += 1
        try:
            parts = _parse_batch(content_type, body, authorization)
        except ValueError as exc:
            return _error(invalid(f"Failed to parse batch request: {exc}"), "none")
        self.counters.largest_batch = max(self.counters.largest_batch, len(parts))
        settings = self.settings()
        classroom = any(api_of(urlsplit(p.target).path) == "classroom" for _, p in parts)
        limit = settings.classroom_batch_limit if classroom else settings.directory_batch_limit
        if len(parts) > limit:
            return _error(
                invalid(f"A batch request cannot contain more than {limit} requests"),
                "classroom" if classroom else "directory",
            )
        pending: list[Hashable] = []
        answers = [(cid, self.call(raw, pending)) for cid, raw in parts]
        if any(a.timed_out for _, a in answers):
            await self._hang()
            self.limiter.delivered(pending, time.monotonic())
            return Answer(504, {}, b"")
        boundary = "batch_" + secrets.token_hex(12)
        chunks: list[bytes] = []
        for cid, answer in answers:
            head = [
                f"--{boundary}",
                "Content-Type: application/http",
                f"Content-ID: <response-{cid}>",
                "",
                f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Status')}",
                *[f"{k}: {v}" for k, v in answer.headers.items()],
                f"Content-Length: {len(answer.body)}",
                "",
                "",
            ]
            chunks.append("\r\n".join(head).encode() + answer.body + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        self.limiter.delivered(pending, time.monotonic())
        return Answer(
            200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, b"".join(chunks)
        )


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _parse_batch(
    content_type: str, body: bytes, authorization: str | None
) -> list[tuple[str, RawCall]]:
    """(Content-ID without brackets, call) for each part, in order."""
    if not content_type.lower().startswith("multipart/mixed"):
        raise ValueError("the content type must be multipart/mixed")
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("no parts")
    out: list[tuple[str, RawCall]] = []
    for index, part in enumerate(message.get_payload()):
        cid = str(part.get("Content-ID") or f"<{index + 1}>").strip().strip("<>")
        payload = part.get_payload(decode=False)
        text = payload if isinstance(payload, str) else ""
        head, _, content = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        request_line = lines[0].split(" ")
        if len(request_line) < 2:
            raise ValueError(f"part {index + 1} has no request line")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        auth = headers.get("authorization", authorization)
        out.append((cid, RawCall(request_line[0], request_line[1], auth, content.encode())))
    return out
