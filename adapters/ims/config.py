"""The ``[tenants.X.source]`` table of an IMS Enterprise source, validated at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ImsConfig(BaseModel):
    """``path``: an IMS Enterprise XML file, a folder of them (a complete export and the
    deltas after it, read in name order) or a zip of either."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "ims"
    path: str = Field(min_length=1)
    max_unpacked_mb: int = Field(8192, ge=1, le=1_048_576)  # a zip's files in all, unpacked


def describe(exc: ValidationError) -> str:
    """One readable line per problem, keys named as in ess.toml."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(source)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (see docs/sources/ims.md)"
        elif err["type"] == "missing":
            msg = "is required: the export file, folder or zip"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)
