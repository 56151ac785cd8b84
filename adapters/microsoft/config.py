"""The ``[tenants.NAME.targets.microsoft]`` table, validated at the edge.

Secrets are references (``env:NAME`` / ``file:PATH``); this model only checks their form, the
target resolves them when it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.kit.naming import checked_template
from engine.secrets import check_reference

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_HOST = "https://login.microsoftonline.com"

UPN_FIELDS = frozenset({"given", "family", "middle", "domain", "id8", "id"})
CLASS_FIELDS = frozenset(
    {
        "name",
        "school_year",
        "school_year_short",
        "term",
        "id8",
        "id",
        "school",
        "school_code",
        "subject",
        "type",
    }
)


ClassTemplate = Annotated[str, checked_template(CLASS_FIELDS, "class template")]


class MicrosoftConfig(BaseModel):
    """Connection, naming and lifecycle settings of one Microsoft 365 Education tenant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "microsoft"
    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str | None = None
    certificate_path: Path | None = None
    certificate_password: str | None = None
    certificate_thumbprint: str | None = None
    authority: str | None = None
    graph_url: str = GRAPH_URL
    verify: Path | None = None  # a CA bundle (PEM) to trust instead of the system store

    domain: str = Field(min_length=3)
    upn_template: Annotated[str, checked_template(UPN_FIELDS, "upn_template", address=True)] = (
        "{given}.{family}@{domain}"
    )
    usage_location: str = Field("SE", min_length=2, max_length=2)
    match_on: Literal["userPrincipalName", "mail", "employeeId"] = "userPrincipalName"
    employee_id_context: str | None = None  # which Person.external_ids context fills employeeId
    student_license_sku: str | None = None
    teacher_license_sku: str | None = None

    class_name_template: ClassTemplate = "{name} {school_year}"
    class_mail_template: ClassTemplate = "c-{school_year_short}-{id8}"
    create_teams: bool = True
    team_archive_on_end: bool = True

    timeout_s: float = Field(30.0, gt=0, le=600)
    max_concurrency: int = Field(4, ge=1, le=64)
    write_limit: int = Field(3000, ge=1)  # directory writes per write_window_s (app + tenant)
    write_window_s: float = Field(150.0, gt=0)
    team_poll_interval_s: float = Field(30.0, gt=0, le=600)  # Microsoft asks for > 30 s
    team_poll_timeout_s: float = Field(900.0, gt=0)
    team_retry_s: float = Field(10.0, gt=0)  # wait before a group too young for a team is retried
    # How long a fresh object may stay hidden from a look-up by $filter (directory replication,
    # reference §4.5-4.6: Microsoft gives no bound). A create in doubt is sent again only after
    # this long with nothing found.
    consistency_window_s: float = Field(120.0, ge=0, le=3600)

    @field_validator("client_secret", "certificate_password")
    @classmethod
    def _secret_ref(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(problem)
        return value

    @field_validator("authority", "graph_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"{value!r} must be an https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("usage_location")
    @classmethod
    def _country(cls, value: str) -> str:
        if not value.isalpha():
            raise ValueError("usage_location is a two-letter country code such as 'SE'")
        return value.upper()

    @model_validator(mode="after")
    def _credential(self) -> MicrosoftConfig:
        if (self.client_secret is None) == (self.certificate_path is None):
            raise ValueError(
                "give exactly one credential: client_secret = 'env:NAME' or certificate_path"
            )
        if self.certificate_path is None and (
            self.certificate_password or self.certificate_thumbprint
        ):
            raise ValueError(
                "certificate_password and certificate_thumbprint need certificate_path"
            )
        return self

    @property
    def authority_url(self) -> str:
        return self.authority or f"{LOGIN_HOST}/{self.tenant_id}"

    @property
    def custom_authority(self) -> bool:
        return self.authority is not None and not self.authority.startswith(LOGIN_HOST)
