"""The channels of ``[[tenants.<id>.notify]]`` in ess.toml: e-mail, a signed webhook, Teams,
Slack. Every secret (a password, a signing key, a Teams or Slack URL, which holds a token) is a
reference, resolved at the moment of sending."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.secrets import check_reference

EventKind = Literal[
    "plan_held",
    "run_failed",
    "failed_items",
    "elevation_requested",
    "elevation_approved",
    "audit_head",
    "approver_changed",
    "credential_expiring",
]
EVENT_KINDS: tuple[EventKind, ...] = (
    "plan_held",
    "run_failed",
    "failed_items",
    "elevation_requested",
    "elevation_approved",
    "audit_head",
    "approver_changed",
    "credential_expiring",
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _reference(value: str) -> str:
    if problem := check_reference(value):
        raise ValueError(problem)
    return value


def check_url(url: str) -> str | None:
    """A problem with a webhook URL, or None: https, or http to this machine only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return "a webhook URL must be https:// (http:// only to localhost)"


class _Channel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    events: tuple[EventKind, ...] = EVENT_KINDS
    failed_items_min: int = Field(1, ge=1)  # failed_items: only when this many items failed
    expiry_days: int = Field(30, ge=1, le=365)  # credential_expiring: this many days ahead


class WebhookChannel(_Channel):
    """A JSON POST signed with HMAC-SHA256 (header ``ESS-Signature``)."""

    type: Literal["webhook"]
    url: str
    signing_key: str  # a secret reference

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if problem := check_url(value):
            raise ValueError(problem)
        return value

    _key = field_validator("signing_key")(_reference)


class TeamsChannel(_Channel):
    """A Microsoft Teams incoming webhook (Workflows): an Adaptive Card."""

    type: Literal["teams"]
    url: str  # a secret reference: the URL holds the token that lets anyone post

    _url = field_validator("url")(_reference)


class SlackChannel(_Channel):
    """A Slack incoming webhook: Block Kit blocks with a plain-text fallback."""

    type: Literal["slack"]
    url: str  # a secret reference, as for Teams

    _url = field_validator("url")(_reference)


class EmailChannel(_Channel):
    """SMTP with STARTTLS (port 587), implicit TLS (465) or, only to this machine, none."""

    type: Literal["email"]
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None  # a secret reference
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")], ...] = Field(min_length=1)
    ca_file: Path | None = None  # a private CA for the relay's certificate
    timeout_s: float = Field(30.0, gt=0, le=300)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        return None if value is None else _reference(value)

    @model_validator(mode="after")
    def _safe(self) -> EmailChannel:
        if self.security == "none" and self.host not in LOOPBACK_HOSTS:
            raise ValueError('security = "none" is allowed only to a relay on this machine')
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        return self


Channel = Annotated[
    WebhookChannel | TeamsChannel | SlackChannel | EmailChannel, Field(discriminator="type")
]
