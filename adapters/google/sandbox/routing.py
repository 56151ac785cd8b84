"""Routes matched on the raw, still-encoded path, so that ``d%3A2026%2FHT%20MA1`` stays one
segment (an alias with a slash) and ``{+orgUnitPath}`` takes the rest of the path, slashes
included, as the discovery documents' reserved expansion does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .errors import Api


@dataclass(frozen=True)
class Call:
    """One API call, direct or a part of a batch, after authentication."""

    method: str
    params: dict[str, str]  # path parameters, decoded
    query: dict[str, list[str]]
    body: Any
    subject: str  # the impersonated user


Handler = Callable[[Call], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    template: tuple[str, ...]
    handler: Handler
    api: Api
    scopes: frozenset[str]  # any one of them grants the call

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        params: dict[str, str] = {}
        for i, part in enumerate(self.template):
            if part.startswith("{+"):
                rest = segments[i:]
                if not rest:
                    return None
                params[part[2:-1]] = unquote("/".join(rest))
                return params
            if i >= len(segments):
                return None
            if part.startswith("{"):
                if not segments[i]:
                    return None
                params[part[1:-1]] = unquote(segments[i])
            elif part != segments[i]:
                return None
        return params if len(segments) == len(self.template) else None


def route(method: str, path: str, handler: Handler, api: Api, scopes: Sequence[str]) -> Route:
    return Route(method, tuple(path.split("/")), handler, api, frozenset(scopes))


def find(
    routes: Sequence[Route], method: str, raw_path: str
) -> tuple[Route, dict[str, str]] | None:
    """The route for ``raw_path`` (no leading slash needed) and its decoded parameters."""
    segments = raw_path.lstrip("/").split("/")
    for candidate in routes:
        params = candidate.match(method, segments)
        if params is not None:
            return candidate, params
    return None


def api_of(raw_path: str) -> Api:
    """Which API a path belongs to, for an error answered before routing."""
    path = raw_path.lstrip("/")
    if path.startswith("admin/directory/"):
        return "directory"
    if path.startswith("v1/"):
        return "classroom"
    return "none"
