"""The IMS Enterprise source: a complete export and the deltas after it, as files.

Each read takes the whole export again (the files are the source's state; there is nothing
to ask for incrementally), streams every file through the hardened parser and applies it in
name order, so the last complete export and the deltas after it give the snapshot. A file
that cannot be read is a :class:`SourceError` naming it: the read stops and nothing of it
is used, so a broken export never removes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from adapters.ims.config import ImsConfig, describe
from adapters.ims.mapping import ImsState, apply
from adapters.ims.parse import read_records
from adapters.kit.exports import ZipLimits, export_files
from engine.perf import gc_paused
from engine.rules import Rule
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceRead

SUFFIXES = (".xml",)


class ImsConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class ImsSource:
    """engine.source.Source for IMS Enterprise 1.1 exports (TK450, Tieto Organization API)."""

    rules: ClassVar[Sequence[Rule]] = ()  # the standard adds no rules of its own
    config_model: ClassVar[type[Any]] = ImsConfig

    def __init__(self, config: ImsConfig, base_dir: Path = Path(".")) -> None:
        self.config = config
        path = Path(config.path).expanduser()
        self.path = path if path.is_absolute() else base_dir / path

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> ImsSource:
        try:
            config = ImsConfig.model_validate(dict(settings))
        except ValidationError as exc:
            raise ImsConfigError(f"ims source: {describe(exc)}") from None
        return cls(config, secrets.base_dir)

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        with gc_paused():
            return await asyncio.to_thread(self.read_now, ctx)

    def read_now(self, ctx: SourceContext) -> SourceRead:
        """The read itself, in the calling thread."""
        limits = ZipLimits(max_unpacked=self.config.max_unpacked_mb * 1024 * 1024)
        state = ImsState()
        for f in export_files(self.path, SUFFIXES, limits):
            with f.open() as stream:
                apply(state, read_records(stream, f.name), f.name)
            ctx.progress("persons", len(state.persons))
        result = state.finish(ctx.today)
        stats = dict(result.stats)
        ctx.emit(
            "info",
            f"ims read of {stats['files']} file(s): {stats['persons']} persons, "
            f"{stats['groups']} groups, {stats['memberships']} membership roles, "
            f"{stats['deletes']} deletes",
        )
        return SourceRead(result.snapshot, result.findings, "folder", stats)

    async def aclose(self) -> None:
        return None
