"""What every source's ``[tenants.X.source]`` table shares, validated at the edge.

:class:`ExportConfig` is the table of a source that reads an export a customer hands over
(``path`` to a file, a folder or a zip, and how far a zip may unpack); :func:`describe` turns
pydantic's errors into one readable line per key, named as in ess.toml; :func:`load_config`
validates a table and raises the source's own error with that line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.kit.exports import ZipLimits

M = TypeVar("M", bound=BaseModel)


class ExportConfig(BaseModel):
    """``path``: the export (a file, a folder or a zip); ``max_unpacked_mb``: a zip's files
    in all, unpacked."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    missing: ClassVar[str | None] = None  # what ``path`` is, for the message when it is missing

    type: str  # a subclass gives its source's name as the default
    path: str = Field(min_length=1)
    max_unpacked_mb: int = Field(8192, ge=1, le=1_048_576)

    @classmethod
    def source_name(cls) -> str:
        """The source's name, as in docs/sources/<name>.md and in messages."""
        return str(cls.model_fields["type"].default)

    def zip_limits(self) -> ZipLimits:
        return ZipLimits(max_unpacked=self.max_unpacked_mb * 1024 * 1024)

    def resolved_path(self, base_dir: Path) -> Path:
        """``path`` with ``~`` expanded, relative to ``base_dir`` unless absolute."""
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else base_dir / path


def describe(exc: ValidationError, source: str, missing: str | None = None) -> str:
    """One readable line per problem, keys named as in ess.toml; ``missing`` is what a
    required key's message says it is for (pydantic's own words when None)."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(source)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (see docs/sources/{source}.md)"
        elif err["type"] == "missing" and missing is not None:
            msg = f"is required: {missing}"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def load_config(
    model: type[M],
    settings: Mapping[str, Any],
    source: str,
    error: type[Exception],
    missing: str | None = None,
) -> M:
    """``settings`` validated as ``model``; a bad table is ``error`` naming each bad key."""
    try:
        return model.model_validate(dict(settings))
    except ValidationError as exc:
        raise error(f"{source} source: {describe(exc, source, missing)}") from None
