"""The ``[tenants.X.source]`` table of a OneRoster source, validated at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from adapters.kit.source_config import ExportConfig
from engine.secrets import check_reference

REST_KEYS = ("base_url", "token_url", "client_id", "client_secret")


class OneRosterConfig(ExportConfig):
    """``path``: a OneRoster 1.2 CSV package, as a folder or a zip, or a folder of packages
    (folders or zips: a bulk package and the delta packages after it, in name order). Or
    ``base_url``: the rostering v1p2 REST API, with OAuth2 client credentials."""

    type: str = "oneroster"
    missing: ClassVar[str | None] = "the package folder or zip (or base_url)"

    path: str | None = Field(None, min_length=1)  # type: ignore[assignment]
    base_url: str | None = None  # the server; the API is under /ims/oneroster/rostering/v1p2
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None  # a secret reference
    scope: str = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
    page_size: int = Field(1000, ge=1, le=10_000)
    full_read_days: int = Field(7, ge=0, le=365)  # REST: 0: every read is a full read
    verify: bool | str = True  # False, or a CA bundle to trust
    timeout_s: float = Field(60.0, gt=0, le=600)

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        problem = check_reference(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("base_url", "token_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"{value[:80]!r} is not an https:// address")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> OneRosterConfig:
        if self.path is not None:
            given = [k for k in REST_KEYS if getattr(self, k) is not None]
            if given:
                raise ValueError("path (CSV) cannot be combined with " + ", ".join(given))
            return self
        if self.base_url is None:
            raise ValueError("give path (a CSV package) or base_url (the REST API)")
        missing = [k for k in REST_KEYS if getattr(self, k) is None]
        if missing:
            raise ValueError("the REST API needs " + ", ".join(missing))
        return self

    def resolved_path(self, base_dir: Path) -> Path:
        """``path`` as :class:`ExportConfig` resolves it; the REST form has none."""
        if self.path is None:
            return base_dir
        return super().resolved_path(base_dir)
