"""Async client of an SS 12000:2020 server (v2.0 and v2.1): paged reads and deletions.

Filters go on the first request of a listing only; later requests carry only the opaque
``pageToken`` (the standard refuses the two together). A page whose body cannot be used is asked
for again within the retry budget, then becomes a :class:`SourceError` naming the endpoint, the
page and the problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson

from adapters.ss12000.auth import TokenSource
from adapters.ss12000.pages import Page, PageError, decode_deleted, decode_page, scrub
from adapters.ss12000.transport import Http, date_header
from adapters.ss12000.vocabulary import OBJECT_TYPE
from engine.source import SourceError

T = TypeVar("T")


class SS12000Client:
    """Reads listings page by page. ``paging=False`` sends no ``limit`` (older Edlevo)."""

    def __init__(
        self,
        http: Http,
        base_url: str,
        auth: TokenSource | None,
        *,
        page_size: int = 500,
        paging: bool = True,
        deleted_path: str = "deletedEntities",
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.page_size = page_size
        self.paging = paging
        self.deleted_path = deleted_path
        self.pages_read = 0
        # the Date header of the first API answer: the server's clock when the read began
        self.server_time: datetime | None = None

    def start_read(self) -> None:
        """Forget the server time, so the next answer's Date header marks a new read."""
        self.server_time = None

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | list[tuple[str, str]],
        where: str,
        *,
        missing_ok: bool = False,
    ) -> httpx.Response:
        url = f"{self.base_url}/{path}"
        resp = await self.http.request("GET", url, where, params=params, auth=self.auth)
        if resp.status_code == 200:
            if self.server_time is None:
                self.server_time = date_header(resp)
            return resp
        if resp.status_code == 404 and missing_ok:
            return resp
        raise SourceError(f"{where}: {_explain(resp)}")

    async def _page(
        self,
        path: str,
        params: Mapping[str, str] | list[tuple[str, str]],
        where: str,
        decode: Callable[[bytes, str, str | None], T],
    ) -> T:
        """GET and decode one page; a body that is HTML or cut short is fetched again within
        the retry budget, then the problem is raised."""
        attempts = self.http.policy.attempts
        for attempt in range(attempts):
            resp = await self._get(path, params, where)
            try:
                return decode(resp.content, where, resp.headers.get("Content-Type"))
            except PageError as err:
                if not err.retryable or attempt == attempts - 1:
                    raise
                self.http.retries += 1
                await self.http.sleep(self.http.policy.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def pages(
        self, entity: str, filters: Mapping[str, str] | None = None
    ) -> AsyncIterator[Page]:
        """Every page of one listing, following pageToken until it is null."""
        params: dict[str, str] = dict(filters or {})
        if self.paging:
            params["limit"] = str(self.page_size)
        seen: set[str] = set()
        number = 1
        while True:
            where = f"{entity} page {number}"
            page = await self._page(entity, params, where, partial(decode_page, entity=entity))
            self.pages_read += 1
            yield page
            if page.token is None:
                return
            if page.token in seen:
                raise SourceError(f"{where}: the server sent a page token it sent before (loop)")
            seen.add(page.token)
            params = {"pageToken": page.token}
            number += 1

    async def item(self, entity: str, rid: str) -> Any | None:
        """One object by its id (``GET /{entity}/{id}``) as plain JSON, or None when the
        server has no such object (404). A body that is not a JSON object is a SourceError."""
        where = f"{entity} {rid}"
        resp = await self._get(f"{entity}/{quote(rid, safe='')}", {}, where, missing_ok=True)
        if resp.status_code == 404:
            return None
        try:
            body = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise SourceError(f"{where}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise SourceError(f"{where}: the answer is not a JSON object")
        return body

    async def deleted(self, after: str, entities: list[str]) -> dict[str, set[str]]:
        """Ids deleted at or after ``after``, per endpoint name."""
        first: list[tuple[str, str]] = [("after", after)]
        first += [("entities", OBJECT_TYPE[e]) for e in entities]
        if self.paging:
            first.append(("limit", str(self.page_size)))
        params: list[tuple[str, str]] = first
        out: dict[str, set[str]] = {e: set() for e in entities}
        seen: set[str] = set()
        number = 1
        while True:
            where = f"{self.deleted_path} page {number}"
            ids, token = await self._page(self.deleted_path, params, where, decode_deleted)
            for entity, values in ids.items():
                if entity in out:
                    out[entity].update(values)
            if token is None:
                return out
            if token in seen:
                raise SourceError(f"{where}: the server sent a page token it sent before (loop)")
            seen.add(token)
            params = [("pageToken", token)]
            number += 1

    async def aclose(self) -> None:
        await self.http.aclose()


def _explain(resp: httpx.Response) -> str:
    status = resp.status_code
    detail = ""
    try:
        body = orjson.loads(resp.content)
        if isinstance(body, dict):
            parts = [str(body[k]) for k in ("code", "message", "error") if body.get(k)]
            detail = scrub(": ".join(parts))
    except orjson.JSONDecodeError:
        pass
    what = {
        400: "the server refused the request",
        401: "the server refused the access token (check the client's rights)",
        403: "access denied: the vendor has not opened this endpoint for the integration",
        404: "not found (a wrong base_url, or a page token that points nowhere)",
        410: "gone (an expired page token)",
    }.get(status, f"unexpected status {status}")
    return what + (f" ({detail})" if detail else "")
