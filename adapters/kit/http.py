"""One HTTP client for every adapter: timeouts, TLS, proxies, a fresh token after a 401, and
retries of what is safe to send twice.

What it retries, and why:

- a request that never reached the service (the connection could not be made) and a 429 (the
  service refused it unprocessed) may be sent again whatever its method;
- timeouts, dropped connections and 5xx answers are retried only for idempotent requests
  (GET, HEAD, OPTIONS, PUT, DELETE, or a caller that says so): a create answered with a 5xx
  or no answer at all may have taken effect, and only the engine, which can look the object
  up by its natural key first, may decide to send it again;
- every wait honours the service's Retry-After, otherwise exponential backoff with full jitter;
- a request given a :class:`~adapters.kit.pacing.Pace` waits for its pacers before every
  attempt (its cost against the service's published limits), and a 429 holds every sender of
  the throttled scope until the Retry-After has passed;
- at most ``max_connections`` requests are on the wire at once; the rest wait here, never in
  the connection pool, whose time-out would look like a request that may have arrived.

When the attempts run out the last answer is returned (or :class:`NoAnswer` raised), and the
adapter says what it means in its own words.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from adapters.kit.pacing import Pace
from adapters.kit.retry import TRANSIENT_STATUS, Backoff, parse_retry_after
from engine import request_ids

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

REQUEST_ID_HEADERS: tuple[str, ...] = ("x-request-id",)
"""The headers a client reads the service's id of an answer from when its adapter names none:
the common convention of proxies and many REST services. Each adapter that knows its vendor's
own header passes ``request_id_headers`` to :class:`HttpClient`, so the kit names no vendor."""

Params = Mapping[str, str] | Sequence[tuple[str, str]] | None


class TokenSource(Protocol):
    """What the client needs of an adapter's credentials: a header, and a way to drop a token
    the service refused so the next header is a fresh one."""

    async def header(self) -> str: ...

    def invalidate(self) -> None: ...


class NoAnswer(Exception):
    """The service did not answer: ``kind`` says how. ``may_have_arrived`` is true when the
    request may have reached the service (a timeout or a dropped connection), so a write must
    be looked up before it is sent again."""

    def __init__(
        self,
        kind: Literal["timeout", "unreachable", "dropped"],
        where: str,
        attempts: int,
        cause: BaseException,
    ) -> None:
        super().__init__(f"{where}: {kind} after {attempts} attempt(s) ({type(cause).__name__})")
        self.kind = kind
        self.where = where
        self.attempts = attempts
        self.cause = cause

    @property
    def may_have_arrived(self) -> bool:
        return self.kind != "unreachable"


@dataclass
class HttpStats:
    """What the client sent: requests, retries made, 429s seen, answers by status."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class HttpClient:
    """An ``httpx.AsyncClient`` with the kit's retry rules; ``transport`` is the test seam.
    ``request_id_headers`` name the service's id of an answer, the first found wins (a vendor's
    support asks for it); every answer's id goes to :mod:`engine.request_ids`."""

    def __init__(
        self,
        *,
        timeout_s: float,
        verify: bool | ssl.SSLContext = True,
        backoff: Backoff | None = None,
        auth: TokenSource | None = None,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        max_connections: int = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        request_id_headers: Sequence[str] = REQUEST_ID_HEADERS,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.request_id_headers = tuple(request_id_headers)
        self.auth = auth
        self.stats = HttpStats()
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max(1, max_connections))
        options: dict[str, Any] = {}
        if transport is not None:
            options["transport"] = transport
        elif proxy:
            options["proxy"] = proxy  # otherwise HTTPS_PROXY and NO_PROXY from the environment
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            verify=verify,
            headers=dict(headers or {}),
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=False,
            **options,
        )

    async def sleep(self, seconds: float) -> None:
        await (self.backoff.sleep or asyncio.sleep)(seconds)

    async def request(
        self,
        method: str,
        url: str,
        where: str,
        *,
        params: Params = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout_s: float | None = None,
        auth: TokenSource | None = None,
        pace: Pace | None = None,
        attempts: int | None = None,
        observe: Callable[[httpx.Response], None] | None = None,
    ) -> httpx.Response:
        """Send with the kit's retry rules; returns the last answer, or raises
        :class:`NoAnswer`. ``where`` names the request in messages (never a secret);
        ``auth`` overrides the client's credentials for this request; ``pace`` says what it
        costs against which pacers; ``attempts`` overrides the backoff's (``1``: only the
        fresh token after a 401, nothing else sent again); ``observe`` sees every answer,
        those the kit answers itself by sending again included (a 429's Retry-After may hold
        other requests than this one)."""
        safe = method.upper() in IDEMPOTENT if idempotent is None else idempotent
        auth = auth or self.auth
        policy = self.backoff
        tries = policy.attempts if attempts is None else max(1, attempts)
        refreshed = False
        attempt = 0
        query = _query(params)
        while True:
            last = attempt >= tries - 1
            hdrs = dict(headers or {})
            if auth is not None:
                hdrs["Authorization"] = await auth.header()
            self.stats.requests += 1
            try:
                resp = await self._send(
                    method,
                    url,
                    pace,
                    params=query,
                    data=data,
                    content=content,
                    headers=hdrs,
                    timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise NoAnswer("unreachable", where, attempt + 1, exc) from None
                await self._wait(attempt, None)
                attempt += 1
                continue
            except httpx.TimeoutException as exc:
                if last or not safe:
                    raise NoAnswer("timeout", where, attempt + 1, exc) from None
                await self._wait(attempt, None)
                attempt += 1
                continue
            except httpx.TransportError as exc:
                if last or not safe:
                    raise NoAnswer("dropped", where, attempt + 1, exc) from None
                await self._wait(attempt, None)
                attempt += 1
                continue
            status = resp.status_code
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            request_ids.note(status, request_id(resp.headers, self.request_id_headers))
            if observe is not None:
                observe(resp)
            if status == 401 and auth is not None and not refreshed:
                auth.invalidate()  # revoked or expired early: one fresh token, then stop
                refreshed = True
                continue
            if status not in TRANSIENT_STATUS:
                return resp
            retry_after = resp.headers.get("Retry-After")
            wait = parse_retry_after(retry_after)
            if status == 429:
                self.stats.throttled += 1
                if pace is not None:
                    pace.throttled(wait)
            too_long = wait is not None and wait > policy.retry_after_cap_s
            if last or too_long or not (safe or status == 429):
                return resp
            await self._wait(attempt, retry_after)
            attempt += 1

    async def _send(
        self, method: str, url: str, pace: Pace | None, **options: Any
    ) -> httpx.Response:
        """One attempt: inside the pacers' windows, and with a free slot."""
        if pace is None:
            async with self._slots:
                return await self.client.request(method, url, **options)
        await pace.acquire()
        late = 0.0
        try:
            async with self._slots:
                return await self.client.request(method, url, **options)
        except httpx.TimeoutException:
            timeout = options.get("timeout")
            late = timeout if isinstance(timeout, int | float) else self.timeout_s
            raise  # the service may still be working on it: it counts a while longer
        finally:
            pace.settle(late)

    async def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.stats.retries += 1
        await self.sleep(self.backoff.delay(attempt, retry_after))

    async def aclose(self) -> None:
        await self.client.aclose()


def request_id(
    headers: httpx.Headers | Mapping[str, str], names: Sequence[str] = REQUEST_ID_HEADERS
) -> str | None:
    """The service's id of this answer, from the first of ``names`` it carries, or None. Also
    for the headers of an answer inside a batch envelope, which the adapter reads."""
    if not isinstance(headers, httpx.Headers):
        headers = httpx.Headers(dict(headers))
    for name in names:
        value = str(headers.get(name) or "").strip()
        if value:
            return value
    return None


def _query(params: Params) -> httpx.QueryParams | None:
    if params is None:
        return None
    return httpx.QueryParams(params if isinstance(params, Mapping) else tuple(params))
