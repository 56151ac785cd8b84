"""The frame of a source that reads an export a customer hands over (a file, folder or zip).

Such a source reads the whole export again each run, in a worker thread with the garbage
collector paused; a subclass names itself and its config model and supplies
:meth:`ExportSource.read_now`, the read itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from adapters.kit.source_config import ExportConfig, load_config
from engine.perf import gc_paused
from engine.rules import Rule
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceRead

C = TypeVar("C", bound=ExportConfig)


class ExportSource(Generic[C]):
    """engine.source.Source for an export read whole each run."""

    config_model: ClassVar[type[ExportConfig]]
    config_error: ClassVar[type[Exception]] = ValueError
    rules: ClassVar[Sequence[Rule]] = ()  # the standard adds no rules of its own

    def __init__(self, config: C, base_dir: Path = Path(".")) -> None:
        self.config = config
        self.path = config.resolved_path(base_dir)

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> Self:
        model = cls.config_model
        config = load_config(model, settings, model.source_name(), cls.config_error, model.missing)
        return cls(config, secrets.base_dir)  # type: ignore[arg-type]

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        with gc_paused():
            return await asyncio.to_thread(self.read_now, ctx)

    def read_now(self, ctx: SourceContext) -> SourceRead:
        """The read itself, in the calling thread."""
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
