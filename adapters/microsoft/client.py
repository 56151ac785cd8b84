"""Graph over the kit's HTTP client: auth header, pacing, Retry-After, paging.

Every request goes through :meth:`GraphClient.send`, which hands it to the kit's
:class:`~adapters.kit.http.HttpClient` with Graph's costs: a write waits for the directory
write window (a $batch costs its inner writes), a team creation for the team window too, and a
read waits out a Retry-After of the write scope so a throttled client goes quiet as Graph asks.
The kit's rules decide what is sent again: once after a refused token (401, with a new token),
after a 429 (Graph throttled it before doing anything), a request that never reached Graph, and
a read (GET) that met a 5xx or a timeout. A write that met a 5xx or a timeout goes back for
classification: whether and when it is sent again is the executor's decision (a create may
have taken effect, and is read back first). Graph's own shapes stay here: :class:`GraphResponse`
and its error bodies, $batch (adapters/microsoft/batch.py) and @odata.nextLink paging.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson

from adapters.kit.http import HttpClient, HttpStats, NoAnswer
from adapters.kit.pacing import Pace, Pacer
from adapters.kit.retry import Backoff

from .auth import AuthError
from .errors import GraphResponse

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
REQUEST_ID_HEADERS = ("request-id", "x-ms-request-id", "client-request-id")
"""Graph's id of an answer (``request-id``), another Microsoft service's (``x-ms-request-id``),
else ``client-request-id``, which echoes ours or is made up: a ticket with Microsoft quotes it."""
TRANSIENT = frozenset({429, 500, 502, 503, 504})


class GraphUnavailable(Exception):
    """Graph could not be reached at all (connection refused, TLS, DNS)."""


class AccessTokens(Protocol):
    """What the client needs of Graph's credentials (:class:`~.auth.TokenProvider`)."""

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


class BearerTokens:
    """The kit's token source over Graph's access tokens."""

    def __init__(self, tokens: AccessTokens) -> None:
        self.tokens = tokens

    async def header(self) -> str:
        return f"Bearer {await self.tokens.token()}"

    def invalidate(self) -> None:
        self.tokens.invalidate()


class GraphClient:
    """Graph over one pooled kit client; relative URLs resolve against ``graph_url``."""

    def __init__(
        self,
        graph_url: str,
        tokens: AccessTokens,
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
        self._timeout_s = timeout_s
        self.write_units = 0
        tls: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        )
        self.http = HttpClient(
            timeout_s=timeout_s,
            verify=tls,
            backoff=Backoff(attempts=max_transport_retries + 1, base_s=0.5, cap_s=8.0),
            auth=BearerTokens(tokens),
            headers={"Accept": "application/json", "x-ms-throttle-priority": "low"},
            max_connections=max_concurrency * 2,
            transport=transport,
            request_id_headers=REQUEST_ID_HEADERS,
        )
        self._http = self.http.client

    @property
    def stats(self) -> HttpStats:
        """What this client sent: requests, retries, 429s seen, answers by status."""
        return self.http.stats

    async def aclose(self) -> None:
        await self.http.aclose()

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
        """One request, paced, and sent again by the kit's rules; ``retry_transient=False``
        leaves 429s and read failures to the caller too (only the fresh token after a 401).

        ``write_units`` overrides how many directory writes the request costs (a $batch costs
        its inner writes, a bind PATCH costs one). Returns the last answer; raises
        :class:`AuthError` (tenant-level) or :class:`GraphUnavailable`.
        """
        units = write_units if write_units is not None else (1 if method in WRITE_METHODS else 0)
        self.write_units += units
        pace = Pace(
            ((self.team_creates, 1 if team_create else 0), (self.writes, units)),
            holds=self.team_creates if team_create else self.writes,
        )
        return await self._request(
            method, path, json, headers, pace, None if retry_transient else 1
        )

    def hold_for(self, resp: GraphResponse, *, team_create: bool = False) -> None:
        """Honour the Retry-After of an inner $batch answer for every sender of its scope."""
        if resp.status == 429:
            self.stats.throttled += 1
            wait = resp.retry_after if resp.retry_after is not None else 5.0
            (self.team_creates if team_create else self.writes).hold(wait)

    async def _once(
        self, method: str, path: str, json: Any, headers: Mapping[str, str] | None
    ) -> GraphResponse:
        """One attempt, outside the pacers (a second client of the same app, in tests and
        the benchmark's naive client)."""
        return await self._request(method, path, json, headers, None, 1)

    async def _request(
        self,
        method: str,
        path: str,
        json: Any,
        headers: Mapping[str, str] | None,
        pace: Pace | None,
        attempts: int | None,
    ) -> GraphResponse:
        hdrs: dict[str, str] = {}
        content = None
        if json is not None:
            content = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        # a $batch envelope answers after up to 20 requests: give it more time than one request
        timeout = self._timeout_s * (3 if path.endswith("$batch") else 1)
        try:
            r = await self.http.request(
                method,
                self.url(path),
                f"{method} {path.split('?', 1)[0]}",
                content=content,
                headers=hdrs,
                idempotent=method == "GET",  # Graph: only a read is sent again after a 5xx
                timeout_s=timeout,
                pace=pace,
                attempts=attempts,
            )
        except NoAnswer as exc:
            if exc.kind == "unreachable":
                raise GraphUnavailable(
                    f"cannot connect to Graph at {self.graph_url} ({type(exc.cause).__name__})"
                ) from None
            if exc.kind == "timeout":
                return GraphResponse(
                    504, _error("ClientTimeout", f"no answer within {timeout:.0f} s"), {}
                )
            return GraphResponse(503, _error("TransportError", type(exc.cause).__name__), {})
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


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


__all__ = ["AuthError", "GraphClient", "GraphUnavailable", "PageError"]
