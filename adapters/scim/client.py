"""The SCIM client: one pooled HTTP client (the kit's), credentials, the service's discovery
read once per run, paged listings, and Bulk when the service offers it.

What the service may be asked is what its ServiceProviderConfig says (RFC 7643 §5): PATCH,
Bulk (with its maxOperations and maxPayloadSize), filtering (with maxResults), ETags. Nothing
is assumed: a service that says nothing of Bulk is never sent one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.pacing import Pace, Pacer
from adapters.kit.token_cache import TokenCache

SCIM_JSON = "application/scim+json"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class ScimTenantError(Exception):
    """The service refused ESS itself (credentials, permission): the run stops."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    """One answer: its status, JSON body (``{}`` when none) and ETag."""

    status: int
    body: Any
    etag: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def scim_type(self) -> str:
        return str(self.body.get("scimType") or "") if isinstance(self.body, dict) else ""

    @property
    def detail(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or "")[:300]
        return ""


@dataclass(frozen=True)
class Capabilities:
    """What the service's discovery says ESS may use."""

    patch: bool = False
    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload: int = 0
    filter: bool = False
    max_results: int = 0
    etag: bool = False
    endpoints: Mapping[str, str] = field(default_factory=dict)  # resource type -> endpoint
    schemas: frozenset[str] = frozenset()


def capabilities_of(spc: Mapping[str, Any], types: Any, schemas: Any) -> Capabilities:
    def flag(name: str) -> bool:
        part = spc.get(name)
        return bool(isinstance(part, dict) and part.get("supported") is True)

    bulk: Mapping[str, Any] = spc.get("bulk") or {}
    filt: Mapping[str, Any] = spc.get("filter") or {}
    if not isinstance(bulk, dict):
        bulk = {}
    if not isinstance(filt, dict):
        filt = {}
    endpoints = {
        str(t.get("name")): str(t.get("endpoint"))
        for t in _resources(types)
        if isinstance(t, dict) and t.get("name") and t.get("endpoint")
    }
    urns = {str(s.get("id")) for s in _resources(schemas) if isinstance(s, dict) and s.get("id")}
    return Capabilities(
        patch=flag("patch"),
        bulk=flag("bulk") and int(bulk.get("maxOperations") or 0) > 0,
        bulk_max_operations=int(bulk.get("maxOperations") or 0),
        bulk_max_payload=int(bulk.get("maxPayloadSize") or 0),
        filter=flag("filter"),
        max_results=int(filt.get("maxResults") or 0),
        etag=flag("etag"),
        endpoints=endpoints,
        schemas=frozenset(urns),
    )


def _resources(listing: Any) -> list[Any]:
    if isinstance(listing, dict):
        return list(listing.get("Resources") or [])
    return list(listing) if isinstance(listing, list) else []


class StaticToken:
    """A bearer token given in the configuration."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    async def header(self) -> str:
        return self._header

    def invalidate(self) -> None:
        return None


class ClientCredentials:
    """An OAuth2 client credentials token, kept until shortly before it expires."""

    def __init__(
        self, http: HttpClient, token_url: str, client_id: str, secret: str, scope: str | None
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.form = {"grant_type": "client_credentials", "client_id": client_id}
        if scope:
            self.form["scope"] = scope
        self._secret = secret
        self.cache = TokenCache()

    async def header(self) -> str:
        return f"Bearer {await self.cache.get(self._fetch)}"

    def invalidate(self) -> None:
        self.cache.forget()

    async def _fetch(self) -> tuple[str, float]:
        form = {**self.form, "client_secret": self._secret}
        resp = await self.http.request(
            "POST", self.token_url, "SCIM token endpoint", data=form, idempotent=True
        )
        if resp.status_code != 200:
            raise ScimTenantError(
                "auth", f"the token endpoint refused the client credentials ({resp.status_code})"
            )
        body = resp.json()
        lifetime = float(body.get("expires_in") or 300)
        return str(body["access_token"]), time.monotonic() + max(1.0, lifetime * 0.9)


class ScimClient:
    """Requests to one SCIM service, relative to its base URL."""

    def __init__(
        self,
        base_url: str,
        http: HttpClient,
        *,
        page_size: int = 500,
        requests_per_second: float = 0.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.page_size = page_size
        self._caps: Capabilities | None = None
        self._caps_lock = asyncio.Lock()
        # without a pace of its own the pacer still holds every sender on a Retry-After
        self.pacer = Pacer(1_000_000_000, 1.0)
        if requests_per_second >= 1:
            self.pacer = Pacer(int(requests_per_second), 1.0)
        elif requests_per_second > 0:  # fewer than one a second: one per 1/rate seconds
            self.pacer = Pacer(1, 1.0 / requests_per_second)

    def _pace(self, units: int) -> Pace:
        return Pace(((self.pacer, units),), holds=self.pacer)

    async def request(
        self,
        method: str,
        path: str,
        where: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> Answer:
        """One request; raises :class:`NoAnswer`, and :class:`ScimTenantError` for a 401 a
        fresh token did not cure or a 403."""
        headers = {"Accept": SCIM_JSON}
        content = None
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
            content = orjson.dumps(body)
        if if_match:
            headers["If-Match"] = if_match
        resp = await self.http.request(
            method,
            self.base_url + path,
            where,
            params=params,
            content=content,
            headers=headers,
            # a PATCH of members adds and removes, so sent twice it may undo a later change;
            # only reads, PUTs and DELETEs are sent again by the client itself
            idempotent=method in ("GET", "PUT", "DELETE"),
            pace=self._pace(1),  # a service's limit counts requests, reads included
        )
        return self._answer(resp, where)

    def _answer(self, resp: httpx.Response, where: str) -> Answer:
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {"detail": resp.text[:200]}
        answer = Answer(resp.status_code, body, resp.headers.get("ETag"), _retry_after(resp))
        if resp.status_code == 401:
            raise ScimTenantError("auth", f"{where}: the service refused ESS's credentials (401)")
        if resp.status_code == 403:
            raise ScimTenantError(
                "permission", f"{where}: ESS is not allowed to do this (403) {answer.detail}"
            )
        return answer

    @property
    def known_capabilities(self) -> Capabilities | None:
        """What discovery found, once it has been read (None before)."""
        return self._caps

    async def capabilities(self) -> Capabilities:
        """The discovery endpoints, read once per client (one client per run)."""
        async with self._caps_lock:
            if self._caps is None:
                spc = await self._discovery("/ServiceProviderConfig")
                types = await self._discovery("/ResourceTypes")
                schemas = await self._discovery("/Schemas")
                self._caps = capabilities_of(spc, types, schemas)
            return self._caps

    async def _discovery(self, path: str) -> Any:
        answer = await self.request("GET", path, f"GET {path}")
        if not answer.ok:
            raise ScimTenantError(
                "discovery", f"GET {path} answered {answer.status}: {answer.detail}"
            )
        return answer.body

    async def find(self, endpoint: str, attr: str, value: str) -> list[dict[str, Any]] | None:
        """Resources whose ``attr`` equals ``value`` (a filter); ``None`` when the service
        could not be read."""
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        answer = await self.request(
            "GET",
            endpoint,
            f"GET {endpoint}?filter={attr}",
            params={"filter": f'{attr} eq "{escaped}"', "count": "10"},
        )
        if not answer.ok:
            return None
        return [r for r in _resources(answer.body) if isinstance(r, dict)]

    async def list_all(self, endpoint: str, attributes: str | None = None) -> list[dict[str, Any]]:
        """Every resource of ``endpoint`` with only ``attributes``, page by page
        (startIndex/count, RFC 7644 §3.4.2.4); raises on a page that could not be read."""
        caps = await self.capabilities()
        count = min(self.page_size, caps.max_results or self.page_size)
        out: list[dict[str, Any]] = []
        start = 1
        while True:
            answer = await self.request(
                "GET",
                endpoint,
                f"GET {endpoint} (page at {start})",
                params={
                    "startIndex": str(start),
                    "count": str(count),
                    **({"attributes": attributes} if attributes else {}),
                },
            )
            if not answer.ok:
                raise ListFailed(f"GET {endpoint} answered {answer.status}: {answer.detail}")
            page = [r for r in _resources(answer.body) if isinstance(r, dict)]
            out.extend(page)
            total = int(answer.body.get("totalResults") or 0)
            if not page or start - 1 + len(page) >= total:
                return out
            start += len(page)

    async def bulk(self, operations: Sequence[dict[str, Any]]) -> list[Answer]:
        """One Bulk request (RFC 7644 §3.7): each operation's answer, in order. A Bulk
        request is a POST: no answer raises :class:`NoAnswer` for all of them."""
        body = {"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": list(operations)}
        resp = await self.http.request(
            "POST",
            self.base_url + "/Bulk",
            f"POST /Bulk ({len(operations)} operations)",
            content=orjson.dumps(body),
            headers={"Content-Type": SCIM_JSON, "Accept": SCIM_JSON},
            idempotent=False,
            pace=self._pace(1),
        )
        whole = self._answer(resp, "POST /Bulk")
        if not whole.ok:
            return [whole] * len(operations)
        by_id: dict[str, Answer] = {}
        for item in whole.body.get("Operations") or []:
            status = int(str(item.get("status") or "500").split(" ")[0])
            resp_body = dict(item.get("response") or {})
            location = str(item.get("location") or "")
            if "id" not in resp_body and location:  # a success names its resource's location
                resp_body["id"] = location.rstrip("/").rsplit("/", 1)[-1]
            by_id[str(item.get("bulkId"))] = Answer(status, resp_body, item.get("version"))
        return [
            by_id.get(str(op["bulkId"]), Answer(500, {"detail": "no answer"})) for op in operations
        ]

    async def aclose(self) -> None:
        await self.http.aclose()


class ListFailed(Exception):
    """A listing page could not be read: nothing is concluded from a partial listing."""


def _retry_after(resp: httpx.Response) -> float | None:
    from adapters.kit.retry import parse_retry_after

    return parse_retry_after(resp.headers.get("Retry-After"))


__all__ = ["PATCH_OP", "Answer", "Capabilities", "NoAnswer", "ScimClient", "ScimTenantError"]
