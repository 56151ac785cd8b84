"""Shared machinery of the Graph handlers: request and response types, the router, references,
collection paging and delta queries.

Paging (reference §4.3): collections return ``@odata.nextLink`` with an opaque, tamper-evident
``$skiptoken`` that carries the original query options; ``$top`` is 1..999. Delta (§4.4): pages
end in ``@odata.deltaLink`` with an opaque ``$deltatoken``; ``$deltatoken=latest`` starts from
now; an unknown token answers 410 with a ``Location`` holding an empty token, an expired one
(older than ``delta_token_ttl_s``, 7 days by default) 410 ``syncStateNotFound`` [memory for the
exact code and status of the expired case]. Deleted users and groups come back with
``@removed: {"reason": "changed"}`` because Entra soft-deletes them [memory]; deleted schools with
``"deleted"``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .entra import Caller
from .errors import GraphError, resource_missing
from .odata import (
    Filter,
    TokenCodec,
    apply_select,
    evaluate,
    index_plan,
    parse_filter,
    parse_select,
    unsupported,
)
from .settings import SandboxSettings
from .store import Index, Store

MAX_TOP = 999


@dataclass
class GraphRequest:
    method: str
    path: str  # relative to /v1.0, normalised: "/users/{id}"
    query: dict[str, str]  # $-options with lower-cased names
    headers: dict[str, str]  # lower-cased names
    body: Any
    caller: Caller
    arrived_at: float = 0.0  # monotonic arrival of the HTTP request (a $batch: the envelope)
    batch_throttles: list[tuple[Caller, str]] | None = None  # 429s to deliver with the envelope

    def option(self, name: str) -> str | None:
        return self.query.get(name.lower())

    @property
    def eventual(self) -> bool:
        return self.headers.get("consistencylevel", "").lower() == "eventual"


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a handler may touch."""

    store: Store
    settings: SandboxSettings
    codec: TokenCodec
    graph_url: str
    now: float  # time.monotonic() at dispatch
    domain: str


Handler = Callable[..., GraphResponse]
_PAREN = re.compile(r"\(\s*'?([^')]*)'?\s*\)")


def normalise_path(path: str) -> str:
    """``/teams('x')/operations('y')`` -> ``/teams/x/operations/y``; no trailing slash."""
    path = _PAREN.sub(lambda m: "/" + m.group(1), unquote(path))
    path = re.sub(r"/+", "/", path)
    return path.rstrip("/") or "/"


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a literal path with ``{name}`` placeholders for one segment each."""
        parts = re.split(r"\{(\w+)\}", pattern)  # literal, name, literal, name, ...
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        self._routes.append((method, re.compile(f"^{regex}$", re.IGNORECASE), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            if route_method == method:
                return handler, match.groupdict()
            allowed = True
        if allowed:
            raise GraphError(
                405,
                "Request_BadRequest",
                f"The HTTP method '{method}' is not allowed for the requested resource '{path}'.",
            )
        segment = path.strip("/").split("/")[-1] if path.strip("/") else ""
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


# request helpers ---------------------------------------------------------------------------


def body_object(req: GraphRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return req.body


def ref_id(value: Any) -> str:
    """The object id at the end of an ``@odata.id`` / ``@odata.bind`` URL."""
    if not isinstance(value, str) or not value.strip():
        raise GraphError(400, "BadRequest", "Invalid object reference: expected a URL string.")
    path = normalise_path(value.split("?", 1)[0])
    return path.rsplit("/", 1)[-1]


def ref_body_id(req: GraphRequest) -> str:
    body = body_object(req)
    if "@odata.id" not in body:
        raise GraphError(400, "BadRequest", "The request body must contain '@odata.id'.")
    return ref_id(body["@odata.id"])


def writable(body: dict[str, Any]) -> dict[str, Any]:
    """Body properties without annotations (``@odata.type``, ``x@odata.bind``)."""
    return {k: v for k, v in body.items() if "@" not in k}


def visible(obj: Any, now: float) -> bool:
    return bool(now >= obj.visible_at)


def get_visible(table: dict[str, Any], oid: str, now: float) -> Any:
    obj = table.get(oid)
    if obj is None or not visible(obj, now):
        raise resource_missing(oid)
    return obj


# collections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionSpec:
    """How to list one collection: its objects, index, views and name."""

    name: str  # @odata.context entity set, e.g. "users"
    objects: Callable[[], Iterable[Any]]
    view: Callable[[Any, list[str] | None], dict[str, Any]]
    filter_view: Callable[[Any], dict[str, Any]]
    index: Index | None = None
    lookup: Callable[[str], Any] | None = None  # id -> object, for index hits


def _page_size(req: GraphRequest, top: int | None, settings: SandboxSettings) -> int:
    if top is not None:
        return top
    prefer = req.headers.get("prefer", "")
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    if match:
        return max(1, min(MAX_TOP, int(match.group(1))))
    return max(1, settings.page_size)


def _parse_top(raw: Any) -> int | None:
    if raw is None:
        return None
    try:
        top = int(raw)
    except (TypeError, ValueError):
        top = -1
    if not 1 <= top <= MAX_TOP:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.",
        )
    return top


def _query_state(ctx: Ctx, req: GraphRequest) -> dict[str, Any]:
    token = req.option("$skiptoken")
    if token is not None:
        state = ctx.codec.decode(token)
        if state is None or state.get("kind") != "page" or state.get("path") != req.path.lower():
            raise GraphError(400, "Request_BadRequest", "The specified page token is invalid.")
        return state
    if req.option("$search") is not None:
        raise GraphError(400, "Request_UnsupportedQuery", "$search is not supported here.")
    if req.option("$expand") is not None:
        raise GraphError(400, "Request_UnsupportedQuery", "$expand is not supported here.")
    return {
        "kind": "page",
        "path": req.path.lower(),
        "filter": req.option("$filter"),
        "select": parse_select(req.option("$select")),
        "top": _parse_top(req.option("$top")),
        "orderby": req.option("$orderby"),
        "count": (req.option("$count") or "").lower() == "true",
        "after": 0,
        "offset": 0,
    }


def _check_advanced(req: GraphRequest, flt: Filter | None, count: bool) -> None:
    if count and not req.eventual:
        raise GraphError(
            400,
            "Request_BadRequest",
            "$count is not currently supported without the ConsistencyLevel: eventual header.",
        )
    if flt is not None and flt.advanced and not (req.eventual and count):
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause: ne, not and endsWith need "
            "ConsistencyLevel: eventual and $count=true.",
        )


def list_collection(ctx: Ctx, req: GraphRequest, spec: CollectionSpec) -> GraphResponse:
    """GET on a collection with $filter, $select, $top, $orderby, $count and paging."""
    state = _query_state(ctx, req)
    flt = parse_filter(state["filter"]) if state["filter"] else None
    count = bool(state["count"])
    _check_advanced(req, flt, count)
    orderby = (state["orderby"] or "").strip()
    descending = False
    if orderby:
        parts = orderby.split()
        if (
            parts[0] != "displayName"
            or len(parts) > 2
            or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc"))
        ):
            raise unsupported(parts[0])
        descending = len(parts) == 2 and parts[1].lower() == "desc"

    plan = None
    if flt is not None and spec.index is not None and spec.lookup is not None:
        plan = index_plan(flt.node, spec.index.fields)
    if plan is not None and spec.index is not None and spec.lookup is not None:
        ids: set[str] = set()
        for name, value in plan:
            ids |= spec.index.lookup(name, value)
        found = [spec.lookup(i) for i in ids]
        candidates: Iterable[Any] = sorted(
            (o for o in found if o is not None), key=lambda o: o.ordinal
        )
    else:
        candidates = spec.objects()
    matches = [
        o
        for o in candidates
        if visible(o, ctx.now) and (flt is None or evaluate(flt.node, spec.filter_view(o)))
    ]
    size = _page_size(req, state["top"], ctx.settings)
    if orderby:
        matches.sort(
            key=lambda o: (str(spec.view(o, None).get("displayName") or "").lower(), o.ordinal),
            reverse=descending,
        )
        offset = int(state["offset"])
        page, more = matches[offset : offset + size], len(matches) > offset + size
        next_state = {**state, "offset": offset + size}
    else:
        after = int(state["after"])
        rest = [o for o in matches if o.ordinal > after]
        page, more = rest[:size], len(rest) > size
        next_state = {**state, "after": page[-1].ordinal if page else after}
    select = state["select"]
    body: dict[str, Any] = {"@odata.context": f"{ctx.graph_url}/$metadata#{spec.name}"}
    if count:
        body["@odata.count"] = len(matches)
    body["value"] = [apply_select(spec.view(o, select), select) for o in page]
    if more:
        body["@odata.nextLink"] = (
            f"{ctx.graph_url}{req.path}?$skiptoken={ctx.codec.encode(next_state)}"
        )
    return GraphResponse(200, body)


# delta -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeltaSpec:
    kind: str  # store change-log kind
    objects: Callable[[], Iterable[Any]]
    lookup: Callable[[str], Any]
    view: Callable[[Any, list[str] | None], dict[str, Any]]
    removed_reason: str
    with_relations: bool = False


def _gone(ctx: Ctx, req: GraphRequest, code: str, message: str) -> GraphError:
    location = f"{ctx.graph_url}{req.path}?$deltatoken="
    return GraphError(410, code, message, {"Location": location})


def delta_query(ctx: Ctx, req: GraphRequest, spec: DeltaSpec) -> GraphResponse:
    store = ctx.store
    delta_token = req.option("$deltatoken")
    skip_token = req.option("$skiptoken")
    if req.option("$filter") is not None or req.option("$top") is not None:
        raise GraphError(400, "Request_UnsupportedQuery", "Only $select is supported on delta.")
    if delta_token is not None and delta_token.lower() == "latest":
        link_state = {
            "kind": "delta",
            "k": spec.kind,
            "s": store.seq,
            "t": time.time(),
            "sel": parse_select(req.option("$select")),
        }
        return GraphResponse(
            200,
            {
                "@odata.context": f"{ctx.graph_url}/$metadata#{spec.kind}/delta",
                "value": [],
                "@odata.deltaLink": f"{ctx.graph_url}{req.path}?$deltatoken="
                f"{ctx.codec.encode(link_state)}",
            },
        )
    if delta_token is not None or skip_token is not None:
        raw = delta_token if delta_token is not None else skip_token
        state = ctx.codec.decode(raw or "")
        if state is None or state.get("k") != spec.kind:
            raise _gone(
                ctx,
                req,
                "resyncRequired",
                "The delta token is not valid; start a full synchronisation.",
            )
        if time.time() - float(state.get("t", 0)) > ctx.settings.delta_token_ttl_s:
            raise _gone(
                ctx,
                req,
                "syncStateNotFound",
                "The sync state of the delta token has expired; resynchronise.",
            )
        if state.get("kind") == "delta":  # a deltaLink: start a new round of changes
            page_state: dict[str, Any] = {
                "kind": "deltapage",
                "k": spec.kind,
                "since": int(state["s"]),
                "upto": store.seq,
                "o": 0,
                "sel": state.get("sel"),
                "init": False,
                "t": time.time(),
            }
        else:
            page_state = state
    else:
        page_state = {
            "kind": "deltapage",
            "k": spec.kind,
            "since": 0,
            "upto": store.seq,
            "o": 0,
            "sel": parse_select(req.option("$select")),
            "init": True,
            "t": time.time(),
        }
    since, upto, offset = int(page_state["since"]), int(page_state["upto"]), int(page_state["o"])
    select = page_state.get("sel")
    if page_state["init"]:
        ids = [o.id for o in sorted(spec.objects(), key=lambda o: o.ordinal)]
    else:
        ids = store.changed_since(spec.kind, since, upto)
    size = _page_size(req, None, ctx.settings)
    page_ids = ids[offset : offset + size]
    values: list[dict[str, Any]] = []
    for oid in page_ids:
        obj = spec.lookup(oid)
        if obj is None:
            values.append({"id": oid, "@removed": {"reason": spec.removed_reason}})
            continue
        item = apply_select(spec.view(obj, None), select)
        if spec.with_relations and (select is None or "members" in select):
            item.update(_relation_delta(ctx, obj, since, page_state["init"]))
        values.append(item)
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.graph_url}/$metadata#{spec.kind}/delta",
        "value": values,
    }
    if offset + size < len(ids):
        next_state = {**page_state, "o": offset + size}
        body["@odata.nextLink"] = (
            f"{ctx.graph_url}{req.path}?$skiptoken={ctx.codec.encode(next_state)}"
        )
    else:
        link_state = {"kind": "delta", "k": spec.kind, "s": upto, "t": time.time(), "sel": select}
        body["@odata.deltaLink"] = (
            f"{ctx.graph_url}{req.path}?$deltatoken={ctx.codec.encode(link_state)}"
        )
    return GraphResponse(200, body)


def _relation_delta(ctx: Ctx, group: Any, since: int, initial: bool) -> dict[str, Any]:
    """``members@delta`` / ``owners@delta`` annotations (reference §4.4)."""
    out: dict[str, Any] = {}
    if initial:
        changes = {
            rel: [(uid, True) for uid in sorted(group.relation(rel))]
            for rel in ("members", "owners")
        }
    else:
        changes = ctx.store.relation_changes(group, since)
    for rel, entries in changes.items():
        if not entries:
            continue
        items: list[dict[str, Any]] = []
        for uid, present in entries:
            item: dict[str, Any] = {"@odata.type": "#microsoft.graph.user", "id": uid}
            if not present:
                item["@removed"] = {"reason": "deleted"}
            items.append(item)
        out[f"{rel}@delta"] = items
    return out
