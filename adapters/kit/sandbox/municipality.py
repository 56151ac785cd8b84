"""The synthetic municipality a source sandbox serves, kept in the sandbox's folder.

A source sandbox (SS 12000 files aside: IMS, OneRoster) serves the municipality ``ess sample
generate`` makes, as a snapshot it writes in its own format, and moves it a term or a year on
as ``ess sample advance`` does. The municipality itself lives in a folder of the sandbox (the
SS 12000 seed of :mod:`adapters.kit.sample_snapshot`), so no adapter imports another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from adapters.kit.sample_snapshot import advance_seed, generate_seed, seed_as_of
from engine.model import Snapshot
from engine.plugins import SampleRequest

from .inspection import json_response
from .server import ConfiguredSandbox
from .settings import KitSettings

Info = TypeVar("Info")
S = TypeVar("S", bound=KitSettings)


class Municipality:
    """The municipality of ``size``, ``seed`` and ``as_of`` (None: today) in ``folder``."""

    def __init__(self, size: str, seed: int, as_of: date | None) -> None:
        self.size, self.seed, self.as_of = size, seed, as_of

    def generate(self, folder: Path) -> Snapshot:
        """Make it in ``folder``; the snapshot as the SS 12000 source reads it."""
        day = self.as_of.isoformat() if self.as_of else None
        return generate_seed(
            folder, SampleRequest(out=folder, size=self.size, seed=self.seed, as_of=day)
        )

    @staticmethod
    def advance(folder: Path, kind: str, as_of: date | None = None) -> Snapshot:
        """Move the municipality in ``folder`` a term or a year on; the snapshot after."""
        if kind not in ("term", "year"):
            raise ValueError(f"kind must be 'term' or 'year', not {kind!r}")
        day = as_of.isoformat() if as_of else None
        _, after = advance_seed(folder, SampleRequest(out=folder, advance=kind, as_of=day))
        return after

    @staticmethod
    def day(folder: Path) -> str:
        """The day the municipality in ``folder`` describes (ISO)."""
        return seed_as_of(folder).isoformat()


def advance_endpoint(
    advance: Callable[[str, date | None], dict[str, Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """``POST /_sandbox/advance`` with ``{"kind": "term"|"year", "as_of": DATE}``: ``advance``
    run off the event loop, its answer as JSON; a bad body is a 400 naming the problem."""

    async def endpoint(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body() or b"{}")
            kind = str(body.get("kind", "term"))
            day = body.get("as_of")
            done = await asyncio.to_thread(advance, kind, date.fromisoformat(day) if day else None)
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(done)

    return endpoint


class MunicipalitySandbox(ConfiguredSandbox[Info, S], Generic[Info, S]):
    """A configured sandbox serving the municipality of ``size``, ``seed`` and ``as_of`` (the
    sample generator's; ``as_of`` None: today), kept as ``municipality`` for ``_configure``."""

    def __init__(
        self,
        *,
        size: str = "small",
        seed: int = 1,
        as_of: date | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: S | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.municipality = Municipality(size, seed, as_of)
        super().__init__(host=host, port=port, settings=settings, workdir=workdir)
