"""What the sandbox serves: one generation of SS 12000 objects, filtered and paged per the spec.

Page tokens are opaque to clients (base64 of a small signed document naming the generation,
the listing, its filters and the offset), so a read that spans an advance keeps reading the
generation it began with, and a token that was tampered with or cut short is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.ss12000.vocabulary import ENTITIES, OBJECT_TYPE

ENTITY_OF_TYPE = {v: k for k, v in OBJECT_TYPE.items()}
# /deletedEntities data keys as the published spec spells them (sic: "activitites")
DELETED_KEY = {
    "organisations": "organisations",
    "persons": "persons",
    "duties": "duties",
    "groups": "groups",
    "activities": "activitites",
}
FILTERS = (
    "meta.created.before",
    "meta.created.after",
    "meta.modified.before",
    "meta.modified.after",
)


class BadRequest(Exception):
    """Answered with 400 and the spec's error body {code, message}."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("INVALID_PARAMETER", f"{name} is not an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _meta_time(rec: dict[str, Any], key: str) -> datetime:
    meta = rec.get("meta")
    raw = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(raw, str):
        return datetime.min.replace(tzinfo=UTC)
    return parse_time(raw, key)


@dataclass(frozen=True)
class Generation:
    """One immutable version of the served data."""

    number: int
    records: dict[str, list[dict[str, Any]]]
    created: dict[str, list[datetime]]
    modified: dict[str, list[datetime]]
    by_id: dict[str, dict[str, dict[str, Any]]]
    deletions: list[tuple[datetime, str, str]]  # (deleted_at, entity, id), sorted

    @classmethod
    def build(
        cls,
        number: int,
        records: dict[str, list[dict[str, Any]]],
        deletions: list[tuple[datetime, str, str]],
    ) -> Generation:
        return cls(
            number=number,
            records=records,
            created={e: [_meta_time(r, "created") for r in records.get(e, [])] for e in ENTITIES},
            modified={e: [_meta_time(r, "modified") for r in records.get(e, [])] for e in ENTITIES},
            by_id={e: {r["id"]: r for r in records.get(e, [])} for e in ENTITIES},
            deletions=sorted(deletions),
        )


class Store:
    """Generations by number (the last few kept, for tokens issued before an advance)."""

    KEEP = 4

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._generations: OrderedDict[int, Generation] = OrderedDict()
        self._views: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()

    @property
    def current(self) -> Generation:
        return next(reversed(self._generations.values()))

    def publish(self, generation: Generation) -> None:
        self._generations[generation.number] = generation
        while len(self._generations) > self.KEEP:
            self._generations.popitem(last=False)

    # -- tokens ---------------------------------------------------------------------------

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:16]

    def token(self, doc: dict[str, Any]) -> str:
        payload = orjson.dumps(doc)
        raw = payload + b"." + self._sign(payload).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def untoken(self, token: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, _, sig = raw.rpartition(b".")
            if not hmac.compare_digest(sig.decode(), self._sign(payload)):
                raise ValueError
            doc = orjson.loads(payload)
            if not isinstance(doc, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(
                "INVALID_PAGE_TOKEN", "pageToken is not one this server issued"
            ) from None
        return doc

    def generation(self, number: int) -> Generation:
        gen = self._generations.get(number)
        if gen is None:
            raise BadRequest("EXPIRED_PAGE_TOKEN", "pageToken refers to data no longer served")
        return gen

    # -- listings -------------------------------------------------------------------------

    def _indices(self, gen: Generation, entity: str, filters: dict[str, str]) -> list[int] | None:
        if not filters:
            return None
        key = (gen.number, entity, tuple(sorted(filters.items())))
        hit = self._views.get(key)
        if hit is not None:
            return hit
        bounds = {k: parse_time(v, k) for k, v in filters.items()}
        created, modified = gen.created[entity], gen.modified[entity]
        out = []
        for i in range(len(created)):
            c, m = created[i], modified[i]
            if "meta.modified.after" in bounds and not m > bounds["meta.modified.after"]:
                continue
            if "meta.modified.before" in bounds and not m <= bounds["meta.modified.before"]:
                continue
            if "meta.created.after" in bounds and not c > bounds["meta.created.after"]:
                continue
            if "meta.created.before" in bounds and not c <= bounds["meta.created.before"]:
                continue
            out.append(i)
        self._views[key] = out
        while len(self._views) > 32:
            self._views.popitem(last=False)
        return out

    def page(
        self, entity: str, query: dict[str, str], *, paging: bool = True
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a listing: (objects, next token or None)."""
        filters = {k: query[k] for k in FILTERS if k in query}
        token = query.get("pageToken")
        if token is not None and filters:
            raise BadRequest(
                "FILTER_WITH_PAGETOKEN",
                "Filter (ex meta.modified.after) kan inte kombineras med pageToken.",
            )
        limit = _limit(query.get("limit"))
        if token is not None and paging:
            doc = self.untoken(token)
            if doc.get("e") != entity or not isinstance(doc.get("o"), int):
                raise BadRequest("INVALID_PAGE_TOKEN", "pageToken belongs to another listing")
            gen = self.generation(int(doc.get("g", -1)))
            filters = dict(doc.get("f") or {})
            offset = doc["o"]
            limit = doc.get("l") or limit
        else:
            gen, offset = self.current, 0
        indices = self._indices(gen, entity, filters)
        records = gen.records.get(entity, [])
        total = len(records) if indices is None else len(indices)
        end = total if not paging or limit is None else min(total, offset + limit)
        chosen = (
            records[offset:end] if indices is None else [records[i] for i in indices[offset:end]]
        )
        next_token = None
        if end < total:
            next_token = self.token(
                {"g": gen.number, "e": entity, "o": end, "f": filters, "l": limit}
            )
        return chosen, next_token

    def deleted(
        self, query: list[tuple[str, str]], *, paging: bool = True
    ) -> tuple[dict[str, list[str]], str | None]:
        params = dict(query)
        token = params.get("pageToken")
        limit = _limit(params.get("limit"))
        if token is not None and paging:
            if "after" in params or "entities" in params:
                raise BadRequest(
                    "FILTER_WITH_PAGETOKEN", "Filter kan inte kombineras med pageToken."
                )
            doc = self.untoken(token)
            if doc.get("e") != "deleted" or not isinstance(doc.get("o"), int):
                raise BadRequest("INVALID_PAGE_TOKEN", "pageToken belongs to another listing")
            gen = self.generation(int(doc.get("g", -1)))
            after_s, wanted, offset = doc.get("a"), list(doc.get("t") or []), doc["o"]
            limit = doc.get("l") or limit
        else:
            gen, offset = self.current, 0
            after_s = params.get("after")
            wanted = [v for k, v in query if k == "entities"]
        unknown = [w for w in wanted if w not in ENTITY_OF_TYPE]
        if unknown:
            raise BadRequest("INVALID_PARAMETER", f"unknown entities: {', '.join(unknown)}")
        after = parse_time(after_s, "after") if after_s else None
        kinds = {ENTITY_OF_TYPE[w] for w in wanted} or set(ENTITIES)
        rows = [
            (e, i)
            for when, e, i in gen.deletions
            if e in kinds and (after is None or when >= after)
        ]
        end = len(rows) if not paging or limit is None else min(len(rows), offset + limit)
        data: dict[str, list[str]] = {DELETED_KEY[e]: [] for e in ENTITIES if e in kinds}
        for e, i in rows[offset:end]:
            data[DELETED_KEY[e]].append(i)
        next_token = None
        if end < len(rows):
            next_token = self.token(
                {"g": gen.number, "e": "deleted", "o": end, "a": after_s, "t": wanted, "l": limit}
            )
        return data, next_token


def _limit(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("INVALID_PARAMETER", "limit must be a whole number") from None
    if limit < 1:
        raise BadRequest("INVALID_PARAMETER", "limit must be at least 1")
    return limit
