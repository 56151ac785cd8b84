"""The ``[tenants.X.source]`` table of an SS 12000 source, validated at the edge."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.ss12000.profiles import PROFILES, VendorProfile
from engine.secrets import check_reference


class SS12000Config(BaseModel):
    """Either ``path`` (a folder of SS 12000 JSON pages) or an HTTP server with OAuth2."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "ss12000"
    profile: Literal["ist", "edlevo", "generic"] = "generic"
    base_url: str | None = None
    token_url: str | None = None
    customer_id: str | None = None
    server: str | None = None
    client_id: str | None = None
    client_secret: str | None = None  # a secret reference: env:NAME or file:PATH
    scope: str | None = None
    path: str | None = None
    page_size: int = Field(500, ge=1, le=10_000)
    timeout_s: float = Field(60.0, gt=0, le=600)
    full_read_days: int = Field(7, ge=0, le=365)  # 0: every read is a full read
    verify: bool | str = True  # TLS: True, False, or the path of a CA bundle
    proxy: str | None = None  # an HTTP(S) proxy URL; unset: HTTPS_PROXY from the environment
    client_cert: str | None = None  # PEM client certificate (mutual TLS), its key too or below
    client_key: str | None = None  # PEM private key of client_cert, when kept apart
    client_key_password: str | None = None  # a secret reference, for an encrypted key
    paging: bool | None = None  # None: the profile's default
    parallel_read: bool = True  # folder mode: the largest entity in a second process

    @field_validator("client_secret", "client_key_password")
    @classmethod
    def _secret_ref(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(problem)
        return value

    @field_validator("base_url", "token_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("server")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and ("/" in value or not value.strip()):
            raise ValueError("server is a host name only, e.g. education.service.tieto.com")
        return value

    @model_validator(mode="after")
    def _complete(self) -> SS12000Config:
        if self.path is not None:
            http_keys = [
                k
                for k in (
                    "base_url",
                    "token_url",
                    "customer_id",
                    "server",
                    "client_id",
                    "client_cert",
                )
                if getattr(self, k) is not None
            ]
            if http_keys:
                raise ValueError(
                    "path (folder mode) cannot be combined with " + ", ".join(http_keys)
                )
            return self
        if self.client_cert is None and (self.client_key or self.client_key_password):
            raise ValueError("client_key and client_key_password need client_cert")
        prof = self.vendor
        if self.resolved_base_url is None:
            hint = {"ist": "customer_id", "edlevo": "server"}.get(self.profile)
            raise ValueError(
                f"profile {self.profile!r} needs "
                + (f"{hint} or base_url" if hint else "base_url")
                + " (or path for a folder of JSON pages)"
            )
        missing = [k for k in ("client_id", "client_secret") if getattr(self, k) is None]
        if self.resolved_token_url is None:
            missing.append("token_url" if prof.needs is None else f"token_url or {prof.needs}")
        if missing:
            raise ValueError("an SS 12000 server needs " + ", ".join(missing))
        return self

    @property
    def vendor(self) -> VendorProfile:
        return PROFILES[self.profile]

    @property
    def _values(self) -> dict[str, str | None]:
        return {"customer_id": self.customer_id, "server": self.server}

    @property
    def resolved_base_url(self) -> str | None:
        return self.base_url or self.vendor.base_url(self._values)

    @property
    def resolved_token_url(self) -> str | None:
        return self.token_url or self.vendor.token_url(self._values)

    @property
    def resolved_paging(self) -> bool:
        return self.vendor.paging if self.paging is None else self.paging
