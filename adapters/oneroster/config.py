"""The ``[tenants.X.source]`` table of a OneRoster source, validated at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class OneRosterConfig(BaseModel):
    """``path``: a OneRoster 1.2 bulk CSV package, as a folder or a zip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "oneroster"
    path: str = Field(min_length=1)
    max_unpacked_mb: int = Field(8192, ge=1, le=1_048_576)


def describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(source)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (see docs/sources/oneroster.md)"
        elif err["type"] == "missing":
            msg = "is required: the package folder or zip"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)
