"""The ``[tenants.X.source]`` table of a OneRoster source, validated at the edge."""

from __future__ import annotations

from typing import ClassVar

from adapters.kit.source_config import ExportConfig


class OneRosterConfig(ExportConfig):
    """``path``: a OneRoster 1.2 CSV package, as a folder or a zip, or a folder of packages
    (folders or zips: a bulk package and the delta packages after it, in name order)."""

    type: str = "oneroster"
    missing: ClassVar[str | None] = "the package folder or zip"
