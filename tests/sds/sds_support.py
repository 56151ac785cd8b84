"""Shared by the SDS tests: a folder-delivery tenant on the conformance bench, and the rows
the mapping wants for a snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sds.config import SdsConfig
from adapters.sds.mapping import build_rows
from adapters.sds.rules import check
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.roster import RosterPolicy


class FolderFeed:
    """The bench's harness for an SDS feed delivered to a folder (only what a sync needs)."""

    name = "sds"

    def __init__(self, base: Path, **settings: Any) -> None:
        self.inapplicable: dict[str, str] = {}
        self.folder = base / "feed"
        self.settings = settings

    def table(self) -> dict[str, Any]:
        return {"type": "sds", "folder": str(self.folder), **self.settings}

    def env(self) -> dict[str, str]:
        return {}

    def sets(self) -> list[Path]:
        """The sets delivered so far (the newest three are kept)."""
        return sorted(p for p in (self.folder / "sets").iterdir() if not p.name.startswith("."))


def wanted_rows(snap: Snapshot, table: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    config = SdsConfig.model_validate(table)
    checked = check(build_rows(snap, config, RosterPolicy.of(TenantPolicy())), 500_000)
    return {k: dict(v) for k, v in checked.rows.by_kind.items()}


def read_current(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (folder / "current").iterdir()}
