"""The ``[tenants.X.source]`` table of an IMS Enterprise source, validated at the edge."""

from __future__ import annotations

from typing import ClassVar

from adapters.kit.source_config import ExportConfig


class ImsConfig(ExportConfig):
    """``path``: an IMS Enterprise XML file, a folder of them (a complete export and the
    deltas after it, read in name order) or a zip of either."""

    type: str = "ims"
    missing: ClassVar[str | None] = "the export file, folder or zip"
