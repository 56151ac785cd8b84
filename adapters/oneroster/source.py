"""The OneRoster 1.2 source: a bulk CSV package read whole each run (a folder or a zip), or
a folder of packages: a bulk package and the delta packages after it, applied in name order.

A file ESS cannot read stops the read with a :class:`SourceError` naming it; nothing of that
read is used, so a broken package never removes anything.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.kit.export_source import ExportSource
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.mapping import Mapper
from adapters.oneroster.package import open_packages
from engine.source import SourceContext, SourceRead


class OneRosterConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class OneRosterSource(ExportSource[OneRosterConfig]):
    """engine.source.Source for OneRoster 1.2 CSV packages (bulk, and deltas after it)."""

    config_model: ClassVar[type[OneRosterConfig]] = OneRosterConfig
    config_error: ClassVar[type[Exception]] = OneRosterConfigError

    def read_now(self, ctx: SourceContext) -> SourceRead:
        packages = open_packages(self.path, self.config.zip_limits())
        snapshot, findings, stats = Mapper(packages, ctx.today).run()
        ctx.emit(
            "info",
            "oneroster read: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())),
        )
        return SourceRead(snapshot, findings, "folder", stats)
