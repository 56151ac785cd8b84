"""The ``[tenants.NAME.targets.sds]`` table, validated at the edge.

``delivery = "folder"`` writes the set into ``folder`` (a subfolder ``current`` replaced by an
atomic rename); ``delivery = "upload"`` sends it through Graph's industryData data connector
and keeps the copy of the last set SDS accepted in ``folder``, which is how the next run knows
what was delivered. The client secret is a secret reference, resolved when the target is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.secrets import check_reference

GRAPH_URL = "https://graph.microsoft.com/beta/"
AUTHORITY_URL = "https://login.microsoftonline.com/"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ORG_TYPES = ("school", "district", "municipality", "localAuthority")
"""Org types ESS sends (from SDS's default list of values)."""


class SdsConfig(BaseModel):
    """Where the SDS v2.1 set goes and how users are named in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "sds"
    delivery: Literal["folder", "upload"] = "folder"
    folder: Path
    # who is who in users.csv
    username_from: tuple[Literal["eppn", "email"], ...] = Field(("eppn", "email"), min_length=1)
    match_id: Literal["none", "username"] = "username"
    send_email: bool = True
    # the organisation tree
    school_org_type: Literal["school"] = "school"
    parent_org_id: str | None = None
    parent_org_name: str | None = None
    parent_org_type: Literal["district", "municipality", "localAuthority"] = "municipality"
    max_rows_per_file: int = Field(500_000, ge=1)
    # upload delivery (Graph beta industryData)
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    data_connector_id: str | None = None
    graph_url: str = GRAPH_URL
    token_url: str | None = None  # default: AUTHORITY_URL + tenant_id + /oauth2/v2.0/token
    verify: Path | None = None  # a CA bundle (the sandbox's); default: the system's
    timeout_s: float = Field(60.0, gt=0, le=600)
    poll_interval_s: float = Field(5.0, gt=0, le=300)
    validate_timeout_s: float = Field(900.0, gt=0, le=86_400)

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(f"client_secret: {problem}")
        return value

    @field_validator("graph_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"graph_url {value!r} must be an https:// URL")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _whole(self) -> Self:
        if self.delivery == "upload":
            missing = [
                k
                for k in ("tenant_id", "client_id", "client_secret", "data_connector_id")
                if not getattr(self, k)
            ]
            if missing:
                raise ValueError(f'delivery = "upload" needs {", ".join(missing)}')
        if (self.parent_org_id is None) != (self.parent_org_name is None):
            raise ValueError("parent_org_id and parent_org_name go together")
        return self

    @property
    def token_endpoint(self) -> str:
        if self.token_url:
            return self.token_url
        return f"{AUTHORITY_URL}{self.tenant_id}/oauth2/v2.0/token"
