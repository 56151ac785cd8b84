"""The Graph industryData upload path (beta), as ../shared/reference/microsoft.md §6.2b gives
it: an upload session for the customer's data connector, each file to its SAS URI (an Azure
block blob, the SAS its only authorisation), ``validate``, then the validate operation polled
for its errors and warnings; and the latest industry data run read for its outcome.

Only what the service answers is read here; what it means for the operations (retry, in
doubt, failed, fatal) is :func:`adapters.sds.delivery.upload`'s.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import orjson

from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.retry import Backoff
from adapters.kit.token_cache import TokenCache
from engine.display import scrub_personnummer
from engine.secrets import Secret

from .config import GRAPH_SCOPE, SdsConfig

CONNECTOR = "external/industryData/dataConnectors/{id}"
UPLOAD_SESSION = CONNECTOR + "/microsoft.graph.industryData.azureDataLakeConnector/getUploadSession"
VALIDATE = CONNECTOR + "/validate"
RUNS = "external/industryData/runs"
BLOB_VERSION = "2021-08-06"
REQUEST_ID_HEADERS = ("request-id", "client-request-id")  # Graph's id of an answer
BLOB_REQUEST_ID_HEADERS = ("x-ms-request-id",)  # Azure Storage's, for the uploaded files


class GraphRefusal(Exception):
    """Graph or the token endpoint answered with an error: its status, code and message."""

    def __init__(
        self, where: str, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{where}: {status} {code}: {message}".strip())
        self.where = where
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class UploadSession:
    session_url: str
    container_id: str
    expires: str


@dataclass
class Validation:
    """A validate operation as last read."""

    url: str
    status: str = "running"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Token:
    """Client credentials against the tenant's token endpoint, kept until shortly before it
    expires."""

    def __init__(self, http: httpx.AsyncClient, url: str, client_id: str, secret: Secret) -> None:
        self._http, self._url, self._id, self._secret = http, url, client_id, secret
        self.cache = TokenCache()

    async def header(self) -> str:
        return "Bearer " + await self.cache.get(self._fetch)

    def invalidate(self) -> None:
        self.cache.forget()

    async def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._id,
            "client_secret": self._secret.reveal(),
            "scope": GRAPH_SCOPE,
        }
        try:
            resp = await self._http.post(self._url, data=form)
        except httpx.HTTPError as exc:
            raise NoAnswer("unreachable", "token endpoint", 1, exc) from None
        body = _json(resp)
        if resp.status_code != 200 or "access_token" not in body:
            raise GraphRefusal(
                "token endpoint",
                resp.status_code,
                str(body.get("error", "")),
                str(body.get("error_description", ""))[:300],
            )
        lifetime = float(body.get("expires_in", 3600))
        return str(body["access_token"]), time.monotonic() + max(1.0, lifetime * 0.9)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _graph_error(where: str, resp: httpx.Response) -> GraphRefusal:
    err = _json(resp).get("error")
    code, message = "", resp.reason_phrase
    if isinstance(err, dict):
        code, message = str(err.get("code", "")), str(err.get("message", message))
    retry_after = resp.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    return GraphRefusal(where, resp.status_code, code, message[:300], wait)


def blob_url(session_url: str, name: str) -> str:
    """The URL of blob ``name`` in the session's container: the container SAS with the
    blob's name added to its path (the query, the signature, stays as it is)."""
    parts = urlsplit(session_url)
    path = parts.path.rstrip("/") + "/" + quote(name)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class GraphClient:
    """The few industryData calls an SDS upload needs."""

    def __init__(
        self, config: SdsConfig, secret: Secret, *, backoff: Backoff | None = None
    ) -> None:
        self.config = config
        verify: bool | ssl.SSLContext = True
        if config.verify is not None:
            verify = ssl.create_default_context(cafile=str(config.verify))
        self._token_http = httpx.AsyncClient(timeout=config.timeout_s, verify=verify)
        self.token = _Token(self._token_http, config.token_endpoint, config.client_id or "", secret)
        self.http = HttpClient(
            timeout_s=config.timeout_s,
            verify=verify,
            auth=self.token,
            backoff=backoff,
            request_id_headers=REQUEST_ID_HEADERS,
        )
        self.blobs = HttpClient(
            timeout_s=config.timeout_s,
            verify=verify,
            backoff=backoff,
            request_id_headers=BLOB_REQUEST_ID_HEADERS,
        )
        self.connector = config.data_connector_id or ""

    def _url(self, path: str) -> str:
        return self.config.graph_url + path.format(id=quote(self.connector, safe=""))

    async def upload_session(self) -> UploadSession:
        where = "getUploadSession"
        resp = await self.http.request("GET", self._url(UPLOAD_SESSION), where)
        if resp.status_code != 200:
            raise _graph_error(where, resp)
        body = _json(resp)
        url = str(body.get("sessionUrl", ""))
        if not url.startswith("https://"):
            raise GraphRefusal(
                where, resp.status_code, "badAnswer", "no https sessionUrl in the answer"
            )
        return UploadSession(
            url, str(body.get("containerId", "")), str(body.get("sessionExpirationDateTime", ""))
        )

    async def upload(self, session: UploadSession, name: str, data: bytes) -> None:
        """Put one file as a block blob; a PUT of the same blob is safe to send again."""
        where = f"upload of {name}"
        resp = await self.blobs.request(
            "PUT",
            blob_url(session.session_url, name),
            where,
            content=data,
            headers={
                "x-ms-blob-type": "BlockBlob",
                "x-ms-version": BLOB_VERSION,
                "Content-Type": "text/csv; charset=utf-8",
            },
        )
        if resp.status_code not in (200, 201):
            raise GraphRefusal(
                where, resp.status_code, resp.headers.get("x-ms-error-code", ""), resp.reason_phrase
            )

    async def validate(self) -> str:
        """Start validating the session's files; the URL of the operation to poll.

        Sent again after an error or a timeout: validate finalises the one open upload
        session, so a second request cannot make a second delivery of it. [unverified: what
        Graph answers a validate of a session already finalised; the sandbox answers with the
        same operation.]"""
        where = "validate"
        resp = await self.http.request("POST", self._url(VALIDATE), where, idempotent=True)
        if resp.status_code not in (200, 202):
            raise _graph_error(where, resp)
        location = str(resp.headers.get("Location", ""))
        if not location:
            raise GraphRefusal(
                where, resp.status_code, "badAnswer", "no Location for the validate operation"
            )
        return location

    async def poll(self, url: str) -> Validation:
        """Poll the validate operation (no more often than the configured interval, Microsoft
        recommends 5 s) until it is no longer running or the wait is over."""
        deadline = time.monotonic() + self.config.validate_timeout_s
        state = Validation(url)
        while True:
            resp = await self.http.request("GET", url, "validate operation")
            if resp.status_code != 200:
                raise _graph_error("validate operation", resp)
            body = _json(resp)
            state.status = str(body.get("status", ""))
            state.errors = [_public_error(e) for e in body.get("errors") or ()]
            state.warnings = [_public_error(e) for e in body.get("warnings") or ()]
            if state.status not in ("notStarted", "running") or time.monotonic() >= deadline:
                return state
            await asyncio.sleep(self.config.poll_interval_s)

    async def latest_run(self) -> dict[str, Any] | None:
        """The newest industry data run (status, start and end), or None when there is none."""
        resp = await self.http.request("GET", self._url(RUNS), "industry data runs")
        if resp.status_code != 200:
            raise _graph_error("industry data runs", resp)
        runs = [r for r in _json(resp).get("value") or () if isinstance(r, dict)]
        if not runs:
            return None
        return max(runs, key=lambda r: str(r.get("startDateTime", "")))

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.blobs.aclose()
        await self._token_http.aclose()


def _public_error(err: Any) -> str:
    """One of SDS's errors or warnings as a line for the run log; it may quote a row, so
    anything like a personnummer is scrubbed."""
    if not isinstance(err, dict):
        return scrub_personnummer(str(err)[:300])
    code, message, target = err.get("code", ""), err.get("message", ""), err.get("target", "")
    return scrub_personnummer(" ".join(str(x) for x in (code, target, message) if x)[:300])
