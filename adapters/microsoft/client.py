"""One async HTTP client for Graph: auth header, pacing, Retry-After, paging, transient retries.

Every request goes through :meth:`GraphClient.send`, which waits for the write window (writes
only), sends, and tries again only what is safe to: once after a refused token (401, with a new
token), after a 429 (Graph throttled it before doing anything), and a read (GET) that met a 5xx
or a timeout. A write that met a 5xx or a timeout goes back for classification: whether and
when it is sent again is the executor's decision (a create may have taken effect, and is read
back first). Reads are never paced, but do respect a Retry-After gate of the write scope so a
throttled client goes quiet as Graph asks.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from adapters.kit.pacing import Pacer

from .auth import AuthError, TokenProvider
from .errors import GraphResponse

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
TRANSIENT = frozenset({429, 500, 502, 503, 504})


class GraphUnavailable(Exception):
    """Graph could not be reached at all (connection refused, TLS, DNS)."""


@dataclass
class ClientStats:
    """What this client sent: requests, write units, 429s seen, retries made."""

    requests: int = 0
    write_units: int = 0
    throttled: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class GraphClient:
    """Graph over one pooled ``httpx.AsyncClient``; relative URLs resolve against ``graph_url``."""

    def __init__(
        self,
        graph_url: str,
        tokens: TokenProvider,
        *,
        verify: str | bool = True,
        timeout_s: float = 30.0,
        max_concurrency: int = 4,
        write_limit: int = 3000,
        write_window_s: float = 150.0,
        team_per_second: float = 10.0,
        max_transport_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self._origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.graph_url))
        self.tokens = tokens
        self.writes = Pacer(write_limit, write_window_s)
        self.team_creates = Pacer(max(1, int(team_per_second)), 1.0, headroom=0.1)
        self._sem = asyncio.Semaphore(max_concurrency * 2)
        self._retries = max_transport_retries
        self._timeout_s = timeout_s
        self._rng = random.Random()
        self.stats = ClientStats()
        limits = httpx.Limits(max_connections=max_concurrency * 2 + 2)
        tls: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        )
        self._http = httpx.AsyncClient(
            verify=tls,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=limits,
            transport=transport,
            headers={"Accept": "application/json", "x-ms-throttle-priority": "low"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return f"{self.graph_url}/{path.lstrip('/')}"

    def ref(self, collection: str, object_id: str) -> str:
        """An @odata.id / @odata.bind value, e.g. ``ref("directoryObjects", id)``."""
        return f"{self.graph_url}/{collection}/{object_id}"

    def relative(self, url: str) -> str:
        """A URL as $batch wants it: relative to the version root."""
        if url.startswith(self.graph_url):
            return url[len(self.graph_url) :] or "/"
        if url.startswith(self._origin):
            rest = url[len(self._origin) :]
            parts = rest.split("/", 2)
            return "/" + (parts[2] if len(parts) > 2 else "")
        return url if url.startswith("/") else "/" + url

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        write_units: int | None = None,
        team_create: bool = False,
        retry_transient: bool = True,
    ) -> GraphResponse:
        """One request, paced, and sent again after a 401 (new token), a 429, or a 5xx or
        timeout of a read; ``retry_transient=False`` leaves 429s and read failures to the
        caller too.

        ``write_units`` overrides how many directory writes the request costs (a $batch costs
        its inner writes, a bind PATCH costs one). Returns the last answer; raises
        :class:`AuthError` (tenant-level) or :class:`GraphUnavailable`.
        """
        units = write_units if write_units is not None else (1 if method in WRITE_METHODS else 0)
        attempt = 0
        refreshed = False
        while True:
            resp = await self._paced(method, path, json, headers, units, team_create)
            self.stats.requests += 1
            self.stats.write_units += units
            self.stats.by_status[resp.status] = self.stats.by_status.get(resp.status, 0) + 1
            if resp.status == 401 and not refreshed:
                refreshed = True
                self.tokens.invalidate()
                continue
            if resp.status == 429:
                self.stats.throttled += 1
                self._hold(resp, team_create)
            if not retry_transient or not _safe_again(method, resp) or attempt >= self._retries:
                return resp
            attempt += 1
            self.stats.retries += 1
            await self._backoff(resp, attempt, team_create)

    async def _paced(
        self,
        method: str,
        path: str,
        json: Any,
        headers: Mapping[str, str] | None,
        units: int,
        team_create: bool,
    ) -> GraphResponse:
        """One attempt inside the write window (and the team window for a team creation)."""
        team_units = 1 if team_create else 0
        await self.team_creates.acquire(team_units)
        late = 0.0
        try:
            await self.writes.acquire(units)
            try:
                resp = await self._once(method, path, json, headers)
                if resp.error_code == "ClientTimeout":
                    late = self._timeout_s  # Graph may still be working through it
            finally:
                self.writes.settle(units, later_s=late)
        finally:
            self.team_creates.settle(team_units, later_s=late)
        return resp

    def _hold(self, resp: GraphResponse, team_create: bool) -> None:
        wait = resp.retry_after if resp.retry_after is not None else 5.0
        (self.team_creates if team_create else self.writes).hold(wait)

    def hold_for(self, resp: GraphResponse, *, team_create: bool = False) -> None:
        """Honour the Retry-After of an inner $batch answer for every sender of its scope."""
        if resp.status == 429:
            self.stats.throttled += 1
            self._hold(resp, team_create)

    async def _backoff(self, resp: GraphResponse, attempt: int, team_create: bool) -> None:
        if resp.status == 429:
            return  # the gate already holds every sender until Retry-After has passed
        if resp.retry_after is not None:
            await asyncio.sleep(resp.retry_after)
            return
        await asyncio.sleep(self._rng.uniform(0, min(8.0, 0.5 * 2**attempt)))

    async def _once(
        self, method: str, path: str, json: Any, headers: Mapping[str, str] | None
    ) -> GraphResponse:
        token = await self.tokens.token()
        hdrs = {"Authorization": f"Bearer {token}"}
        content = None
        if json is not None:
            content = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        # a $batch envelope answers after up to 20 requests: give it more time than one request
        timeout = self._timeout_s * (3 if path.endswith("$batch") else 1)
        try:
            async with self._sem:
                r = await self._http.request(
                    method, self.url(path), content=content, headers=hdrs, timeout=timeout
                )
        except httpx.TimeoutException:
            return GraphResponse(
                504, _error("ClientTimeout", f"no answer within {timeout:.0f} s"), {}
            )
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError):
                raise GraphUnavailable(
                    f"cannot connect to Graph at {self.graph_url} ({type(exc).__name__})"
                ) from None
            return GraphResponse(503, _error("TransportError", type(exc).__name__), {})
        body: Any = None
        if r.content:
            try:
                body = orjson.loads(r.content)
            except orjson.JSONDecodeError:
                body = {"error": {"code": "InvalidResponse", "message": r.text[:200]}}
        return GraphResponse(r.status_code, body, dict(r.headers))

    async def get_json(self, path: str, headers: Mapping[str, str] | None = None) -> GraphResponse:
        return await self.send("GET", path, headers=headers)

    async def pages(
        self, path: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink unchanged."""
        url: str | None = path
        while url:
            resp = await self.send("GET", url, headers=headers)
            if not resp.ok:
                raise PageError(url, resp)
            body = resp.body if isinstance(resp.body, dict) else {}
            for item in body.get("value", []):
                yield item
            url = body.get("@odata.nextLink")


class PageError(Exception):
    """A collection page was refused; carries the answer for classification."""

    def __init__(self, url: str, resp: GraphResponse) -> None:
        super().__init__(f"GET {url.split('?', 1)[0]} answered {resp.status} {resp.error_code}")
        self.url = url
        self.resp = resp


def _safe_again(method: str, resp: GraphResponse) -> bool:
    """A 429 was refused before Graph did anything; a read may be sent again after anything
    transient. A write that met a 5xx or a timeout may have taken effect: not here."""
    return resp.status == 429 or (method == "GET" and resp.status in TRANSIENT)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


__all__ = ["AuthError", "GraphClient", "GraphUnavailable", "PageError"]
