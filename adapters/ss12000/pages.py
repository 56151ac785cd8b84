"""Decoding one SS 12000 page body, shared by the HTTP and the folder reads.

A page is ``{"data": [...], "pageToken": ...}`` (or, in a dump, a bare list). Anything else is a
:class:`PageError` naming where the page came from and what is wrong with it; ``retryable`` says
whether asking again may help (a body cut short or an HTML page from a proxy may be transient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from adapters.ss12000.records import decode_typed_page
from adapters.ss12000.vocabulary import DELETED_KEYS
from engine.personnummer import IN_TEXT
from engine.source import SourceError


class PageError(SourceError):
    """A page that cannot be used; ``retryable`` when a second request may succeed."""

    def __init__(self, where: str, problem: str, *, retryable: bool = False) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.retryable = retryable


@dataclass(frozen=True)
class Page:
    records: list[Any]
    token: str | None


def scrub(text: str, limit: int = 200) -> str:
    """Server-supplied text made safe for a message: short, one line, no personnummer."""
    one_line = " ".join(text.split())
    return IN_TEXT.sub("[redacted]", one_line)[:limit]


def parse_json(body: bytes, where: str, content_type: str | None = None) -> Any:
    head = body[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<")) or (
        content_type is not None and "html" in content_type.lower()
    ):
        raise PageError(
            where, "the server answered with an HTML page instead of JSON", retryable=True
        )
    if not body.strip():
        raise PageError(where, "the body is empty", retryable=True)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PageError(
            where,
            f"the body is not valid JSON ({len(body)} bytes; cut off or corrupted: "
            f"{scrub(str(exc), 120)})",
            retryable=True,
        ) from None


def decode_page(
    body: bytes, where: str, content_type: str | None = None, entity: str | None = None
) -> Page:
    """One page's records: typed structs when the whole page fits the entity's types (the
    quick path, see :mod:`adapters.ss12000.records`), else plain JSON values, which the
    mapping converts one by one so that a bad record blocks only itself."""
    if entity is not None and (content_type is None or "html" not in content_type.lower()):
        typed = decode_typed_page(body, entity)
        if typed is not None:
            records, token = typed
            if token is not None and (type(token) is not str or not token):
                raise PageError(where, "pageToken is neither null nor a non-empty string")
            return Page(records, token)
    doc = parse_json(body, where, content_type)
    if type(doc) is list:
        return Page(doc, None)
    if type(doc) is not dict:
        raise PageError(where, f"the body is a JSON {type(doc).__name__}, not a page object")
    data = doc.get("data")
    if type(data) is not list:
        keys = ", ".join(sorted(doc)[:6]) or "none"
        raise PageError(where, f"the page has no 'data' list (keys: {keys})")
    token = doc.get("pageToken")
    if token is not None and (type(token) is not str or not token):
        raise PageError(where, "pageToken is neither null nor a non-empty string")
    return Page(data, token)


def decode_deleted(
    body: bytes, where: str, content_type: str | None = None
) -> tuple[dict[str, list[str]], str | None]:
    """A /deletedEntities page: endpoint name -> deleted ids, and the next page token."""
    doc = parse_json(body, where, content_type)
    if type(doc) is not dict or type(doc.get("data")) is not dict:
        raise PageError(where, "the answer has no 'data' object of deleted ids")
    out: dict[str, list[str]] = {}
    for key, ids in doc["data"].items():
        entity = DELETED_KEYS.get(key)
        if entity is None:
            continue  # placements, programmes, ...: not read
        if type(ids) is not list or any(type(i) is not str for i in ids):
            raise PageError(where, f"data.{key} is not a list of ids")
        out.setdefault(entity, []).extend(ids)
    token = doc.get("pageToken")
    if token is not None and (type(token) is not str or not token):
        raise PageError(where, "pageToken is neither null nor a non-empty string")
    return out, token
