"""The OneRoster source's REST form: the rostering v1p2 API read page by page.

OAuth2 client credentials (OneRoster 1.2 requires them) give a bearer token, kept until
shortly before it expires and fetched again after a 401; each collection (``orgs``,
``academicSessions``, ``courses``, ``classes``, ``users``, ``enrollments``) is paged with
``limit`` and ``offset`` until a page comes back short or ``X-Total-Count`` is reached. A
read since a moment adds ``filter=dateLastModified>='…'`` (see
:mod:`adapters.oneroster.rest_delta`). Each object is turned into the row its CSV file would
hold (a user's ``roles`` into rows of ``roles.csv``), so the mapping is the CSV form's, and
rows whose ``status`` is ``tobedeleted`` are left out as in a bulk package. An answer ESS
cannot use stops the read with one :class:`SourceError` naming the address (never the
secret): nothing of that read is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from adapters.kit.dates import http_date
from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.token_cache import TokenCache
from adapters.oneroster.columns import SE
from adapters.oneroster.delta import Merged
from engine.secrets import Secret
from engine.source import SourceError

BASE_PATH = "/ims/oneroster/rostering/v1p2"
COLLECTIONS = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
Json = dict[str, Any]


class ClientCredentials:
    """The bearer token of OAuth2 client credentials (the kit's TokenSource)."""

    def __init__(
        self,
        http: HttpClient,
        token_url: str,
        client_id: str,
        secret: Secret,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http, self._url, self._id, self._secret, self._scope = (
            http,
            token_url,
            client_id,
            secret,
            scope,
        )
        self._cache = TokenCache(clock)

    async def header(self) -> str:
        return f"Bearer {await self._cache.get(self._fetch)}"

    def invalidate(self) -> None:
        self._cache.forget()

    async def _fetch(self) -> tuple[str, float]:
        where = f"token endpoint {self._url}"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._id,
            "client_secret": self._secret.reveal(),
        }
        if self._scope:
            form["scope"] = self._scope
        started = self._cache.clock()
        try:
            resp = await self._http.request("POST", self._url, where, data=form)
        except NoAnswer as exc:
            raise SourceError(f"{where}: no answer ({exc.kind})") from None
        body = _json(resp.content)
        if resp.status_code != 200:
            raise SourceError(
                f"{where} refused the client credentials ({resp.status_code}): check "
                "client_id and client_secret"
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise SourceError(f"{where}: the answer holds no access_token")
        expires = body.get("expires_in", 3600)
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 3600.0
        return token, started + lifetime - min(60.0, lifetime / 5)


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


@dataclass
class Fetched:
    """What one read fetched: the objects by collection, and the server's clock when the
    read began (its ``Date`` header; None when it sent none)."""

    objects: dict[str, list[Json]] = field(default_factory=dict)
    server_start: datetime | None = None


async def fetch_all(
    http: HttpClient,
    auth: ClientCredentials,
    base_url: str,
    page_size: int,
    since: str | None = None,
) -> Fetched:
    """Every object of every collection, in the server's order (the token is given per
    request: the token endpoint itself is asked through the same client, without one); with
    ``since``, only those modified at or after it (``filter=dateLastModified>='since'``),
    removed ones among them with ``status`` ``tobedeleted``."""
    out = Fetched()
    root = base_url.rstrip("/") + BASE_PATH
    for name in COLLECTIONS:
        objects: list[Json] = []
        offset = 0
        while True:
            url = f"{root}/{name}"
            where = f"OneRoster API {url} (offset {offset})"
            params = {"limit": str(page_size), "offset": str(offset)}
            if since is not None:
                params["filter"] = f"dateLastModified>='{since}'"
            try:
                resp = await http.request("GET", url, where, params=params, auth=auth)
            except NoAnswer as exc:
                raise SourceError(f"{where}: no answer ({exc.kind})") from None
            if out.server_start is None:
                out.server_start = http_date(resp.headers.get("date"))
            if resp.status_code == 404 and name == "courses":
                break  # a server without courses: classes keep their subject codes
            if resp.status_code != 200:
                raise SourceError(f"{where} answered {resp.status_code}; nothing is used")
            body = _json(resp.content)
            page = body.get(name) if isinstance(body, dict) else None
            if not isinstance(page, list) or not all(isinstance(o, dict) for o in page):
                raise SourceError(f"{where}: the answer holds no {name} list")
            objects.extend(page)
            offset += len(page)
            total = resp.headers.get("x-total-count", "")
            if len(page) < page_size or (total.isdigit() and offset >= int(total)):
                break
        out.objects[name] = objects
    return out


def _ref(obj: Json, key: str) -> str:
    value = obj.get(key)
    return str(value.get("sourcedId", "")) if isinstance(value, dict) else ""


def _refs(obj: Json, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, list):
        return ""
    return ",".join(str(v.get("sourcedId", "")) for v in value if isinstance(v, dict))


def _text(obj: Json, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _se(obj: Json) -> Json:
    """ESS's Swedish extension fields, as ``metadata.se.*`` columns."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return {}
    return {f"{SE}{k.removeprefix('se.')}": _text(meta, k) for k in meta if k.startswith("se.")}


def _base(obj: Json) -> dict[str, str]:
    return {k: _text(obj, k) for k in ("sourcedId", "status", "dateLastModified")}


def to_rows(objects: dict[str, list[Json]], where: str) -> Merged:
    """The fetched objects as the rows of a bulk package (by file and id)."""
    merged = Merged()

    def put(name: str, row: dict[str, str], rid: str | None = None) -> None:
        if row.get("status", "").strip().lower() == "tobedeleted":
            return
        key = rid if rid is not None else row.get("sourcedId", "")
        table = merged.tables.setdefault(name, {})
        if not key:
            merged.no_id.append((name, where, len(table) + 1))
            return
        if key in table:
            merged.duplicates.setdefault((name, key), [f"{where} {name}"]).append(f"{where} {name}")
        table[key] = (f"{where} {name}", len(table) + 1, row)

    for o in objects.get("orgs", []):
        row = _base(o) | {k: _text(o, k) for k in ("name", "type", "identifier")}
        put("orgs.csv", row | {"parentSourcedId": _ref(o, "parent")} | _se(o))
    for o in objects.get("academicSessions", []):
        row = _base(o) | {k: _text(o, k) for k in ("title", "type", "startDate", "endDate")}
        put("academicSessions.csv", row)
    for o in objects.get("courses", []):
        put("courses.csv", _base(o) | {"courseCode": _text(o, "courseCode")})
    for o in objects.get("classes", []):
        row = _base(o) | {k: _text(o, k) for k in ("title", "classType", "subjectCodes")}
        row |= {
            "schoolSourcedId": _ref(o, "school"),
            "courseSourcedId": _ref(o, "course"),
            "termSourcedIds": _refs(o, "terms"),
        }
        put("classes.csv", row | _se(o))
    for o in objects.get("users", []):
        ids = o.get("userIds")
        user_ids = ",".join(
            f"{{{i.get('type', '')}:{i.get('identifier', '')}}}"
            for i in (ids if isinstance(ids, list) else [])
            if isinstance(i, dict)
        )
        row = _base(o) | {
            k: _text(o, k) for k in ("givenName", "familyName", "middleName", "email")
        }
        put("users.csv", row | {"userIds": user_ids} | _se(o))
        roles = o.get("roles")
        for r in roles if isinstance(roles, list) else []:
            if not isinstance(r, dict):
                continue
            role_row = {
                "sourcedId": "",
                "status": _text(o, "status"),
                "userSourcedId": _text(o, "sourcedId"),
                "orgSourcedId": _ref(r, "org"),
                **{k: _text(r, k) for k in ("roleType", "role", "beginDate", "endDate")},
                **_se(r),
            }
            key = "|".join((role_row["userSourcedId"], role_row["orgSourcedId"], r.get("role", "")))
            put("roles.csv", role_row, key)
    for o in objects.get("enrollments", []):
        row = _base(o) | {k: _text(o, k) for k in ("role", "beginDate", "endDate")}
        row |= {
            "classSourcedId": _ref(o, "class"),
            "schoolSourcedId": _ref(o, "school"),
            "userSourcedId": _ref(o, "user"),
        }
        put("enrollments.csv", row | _se(o))
    return merged
