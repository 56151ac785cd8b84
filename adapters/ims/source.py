"""The IMS Enterprise source: a complete export and the deltas after it, as files.

Each read takes the whole export again (the files are the source's state; there is nothing
to ask for incrementally), streams every file through the hardened parser and applies it in
name order, so the last complete export and the deltas after it give the snapshot. A file
that cannot be read is a :class:`SourceError` naming it: the read stops and nothing of it
is used, so a broken export never removes anything.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.ims.config import ImsConfig
from adapters.ims.mapping import ImsState, apply
from adapters.ims.parse import read_records
from adapters.kit.export_source import ExportSource
from adapters.kit.exports import export_files
from engine.source import SourceContext, SourceRead

SUFFIXES = (".xml",)


class ImsConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class ImsSource(ExportSource[ImsConfig]):
    """engine.source.Source for IMS Enterprise 1.1 exports (TK450, Tieto Organization API)."""

    config_model: ClassVar[type[ImsConfig]] = ImsConfig
    config_error: ClassVar[type[Exception]] = ImsConfigError

    def read_now(self, ctx: SourceContext) -> SourceRead:
        limits = self.config.zip_limits()
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
