"""The OneRoster 1.2 source: a bulk CSV package read whole each run (a folder or a zip).

A file ESS cannot read stops the read with a :class:`SourceError` naming it; nothing of that
read is used, so a broken package never removes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from adapters.kit.exports import ZipLimits
from adapters.oneroster.config import OneRosterConfig, describe
from adapters.oneroster.mapping import Mapper
from adapters.oneroster.package import open_package
from engine.perf import gc_paused
from engine.rules import Rule
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceRead


class OneRosterConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class OneRosterSource:
    """engine.source.Source for OneRoster 1.2 bulk CSV packages."""

    rules: ClassVar[Sequence[Rule]] = ()  # the standard adds no rules of its own
    config_model: ClassVar[type[Any]] = OneRosterConfig

    def __init__(self, config: OneRosterConfig, base_dir: Path = Path(".")) -> None:
        self.config = config
        path = Path(config.path).expanduser()
        self.path = path if path.is_absolute() else base_dir / path

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> OneRosterSource:
        try:
            config = OneRosterConfig.model_validate(dict(settings))
        except ValidationError as exc:
            raise OneRosterConfigError(f"oneroster source: {describe(exc)}") from None
        return cls(config, secrets.base_dir)

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        with gc_paused():
            return await asyncio.to_thread(self.read_now, ctx)

    def read_now(self, ctx: SourceContext) -> SourceRead:
        limits = ZipLimits(max_unpacked=self.config.max_unpacked_mb * 1024 * 1024)
        package = open_package(self.path, limits)
        snapshot, findings, stats = Mapper(package, ctx.today).run()
        ctx.emit(
            "info",
            "oneroster read: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())),
        )
        return SourceRead(snapshot, findings, "folder", stats)

    async def aclose(self) -> None:
        return None
