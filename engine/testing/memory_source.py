"""A source double: reads a canonical snapshot from a JSON file (``type = "memory"``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict

from engine.findings import Finding, Severity
from engine.model import Snapshot
from engine.rules import Rule
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceError, SourceRead
from engine.testing.snapshot_io import read_snapshot, write_snapshot

__all__ = ["MemorySource", "write_snapshot"]


def refusals(snap: Snapshot) -> tuple[Finding, ...]:
    """A blocking finding for each record the snapshot file lists as refused, as a real
    source's mapping makes one for a record it lists but cannot use."""
    return tuple(
        Finding(
            "memory.refused",
            Severity.BLOCKING,
            kind,
            rid,
            f"{kind} {rid} is listed but cannot be used; the {kind} is left out",
            f"Correct the {kind} in the snapshot file.",
            "memory",
        )
        for kind in ("school", "person", "group")
        for rid in sorted(snap.refused.of(kind))
    )


class MemorySourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str = "memory"
    path: Path
    fail: bool = False  # answer every read with a SourceError, to test a broken source


class MemorySource:
    config_model: ClassVar[type[Any]] = MemorySourceConfig
    rules: ClassVar[Sequence[Rule]] = ()

    def __init__(self, cfg: MemorySourceConfig, base_dir: Path) -> None:
        self.cfg = cfg
        self.path = cfg.path if cfg.path.is_absolute() else base_dir / cfg.path

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> MemorySource:
        return cls(MemorySourceConfig.model_validate(dict(settings)), secrets.base_dir)

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        if self.cfg.fail:
            raise SourceError(f"the memory source {self.path} is set to fail")
        try:
            snap = read_snapshot(self.path, ctx.today)
        except FileNotFoundError:
            raise SourceError(f"snapshot file {self.path} not found") from None
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise SourceError(f"snapshot file {self.path} is not a snapshot: {exc}") from None
        return SourceRead(snap, refusals(snap), "full", {k: v for k, v in snap.counts().items()})

    async def aclose(self) -> None:
        return None
