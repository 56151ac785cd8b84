"""The ``[tenants.X.source]`` table of an IMS Enterprise source, validated at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from adapters.kit.source_config import ExportConfig
from engine.secrets import check_reference

HTTP_KEYS = (
    "urls",
    "api_key",
    "client_cert",
    "client_key",
    "client_key_password",
    "verify",
    "delta_url",
)


class ImsConfig(ExportConfig):
    """``path``: an IMS Enterprise XML file, a folder of them (a complete export and the
    deltas after it, read in name order) or a zip of either. Or ``urls``: the HTTPS
    addresses of the documents of one complete export (Tieto's Organization, Person and
    Personnel APIs), fetched with an API key and a client certificate."""

    type: str = "ims"
    missing: ClassVar[str | None] = "the export file, folder or zip (or urls)"

    path: str | None = Field(None, min_length=1)  # type: ignore[assignment]
    urls: tuple[str, ...] = ()
    api_key: str | None = None  # a secret reference
    api_key_header: str = Field("X-Api-Key", min_length=1, pattern=r"^[A-Za-z0-9-]+$")
    client_cert: str | None = None  # PEM certificate (mutual TLS), its key too or below
    client_key: str | None = None
    client_key_password: str | None = None  # a secret reference
    verify: bool | str = True  # False, or a CA bundle to trust
    timeout_s: float = Field(300.0, gt=0, le=3600)
    # the Organization API's delta export; how Tieto names its address and its "since"
    # parameter is not confirmed by a public document (unverified), so both are settings
    delta_url: str | None = None
    delta_since_parameter: str = Field("from", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    full_read_days: int = Field(7, ge=0, le=365)  # with delta_url: 0: every read is full

    @field_validator("api_key", "client_key_password")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        problem = check_reference(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("urls")
    @classmethod
    def _https(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith("https://"):
                raise ValueError(f"{url[:80]!r} is not an https:// address")
        return value

    @field_validator("delta_url")
    @classmethod
    def _https_delta(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"{value[:80]!r} is not an https:// address")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> ImsConfig:
        if self.path is not None:
            given = [k for k in HTTP_KEYS if getattr(self, k) not in (None, (), True)]
            if given:
                raise ValueError("path (files) cannot be combined with " + ", ".join(given))
            return self
        if not self.urls:
            if self.delta_url is not None:
                raise ValueError("delta_url needs urls (the complete export it follows)")
            raise ValueError("give path (the export's files) or urls (its HTTPS addresses)")
        if self.api_key is None:
            raise ValueError("urls need api_key (a secret reference: env:NAME or file:PATH)")
        if self.client_cert is None and (self.client_key or self.client_key_password):
            raise ValueError("client_key and client_key_password need client_cert")
        return self

    def resolved_path(self, base_dir: Path) -> Path:
        """``path`` as :class:`ExportConfig` resolves it; the HTTPS form has none."""
        if self.path is None:
            return base_dir
        return super().resolved_path(base_dir)
