"""The ``[tenants.NAME.targets.<key>]`` table of a SCIM service (``type = "scim"``), validated
at the edge. A tenant may have any number of them, each under its own key.

Secrets (a bearer token, an OAuth2 client secret) are secret references (``env:NAME`` /
``file:PATH``); this model checks their form, the target resolves them when it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.secrets import check_reference


class ScimConfig(BaseModel):
    """Connection, profile and scope of one SCIM service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["scim"] = "scim"
    base_url: str = Field(min_length=8)  # the SCIM root, e.g. https://example.se/scim/v2
    profile: Literal["core", "egil"] = "core"
    # auth: a static bearer token, or OAuth2 client credentials (token_url + client_id/secret)
    token: str | None = None  # secret reference
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None  # secret reference
    scope: str | None = None
    verify: Path | None = None  # a CA bundle (the sandbox's); default: the system's
    timeout_s: float = Field(30.0, gt=0, le=600)
    # what it receives
    schools: tuple[str, ...] = ()  # school ids or school unit codes; empty: every school
    roles: tuple[Literal["student", "teacher"], ...] = ("student", "teacher")
    group_types: tuple[str, ...] | None = None  # default: the tenant policy's group_types
    # the egil profile's organisation (huvudman): its UUID and name
    organisation_id: str | None = None  # default: derived from the table key
    organisation_name: str = "Huvudman"
    # how requests are made
    page_size: int = Field(500, ge=1, le=10_000)  # count= of a listing page
    members_per_patch: int = Field(100, ge=1, le=10_000)  # core: member changes per PATCH
    read_drift: bool = True  # list every resource once per run to see changes made by hand
    use_bulk: bool = True  # when the ServiceProviderConfig offers Bulk
    bulk_size: int = Field(100, ge=1, le=10_000)  # at most, and at most maxOperations
    requests_per_second: float = Field(0.0, ge=0)  # 0: no limit of ESS's own
    max_concurrency: int = Field(4, ge=1, le=64)
    # a request that timed out may still be carried out by the service (a large Bulk request
    # long after ESS stopped waiting): a create in doubt is sent again only after this long
    # with nothing found
    consistency_window_s: float = Field(30.0, ge=0, le=600)

    @field_validator("token", "client_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None:
            problem = check_reference(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("base_url", "token_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _auth(self) -> ScimConfig:
        oauth = (self.token_url, self.client_id, self.client_secret)
        if self.token and any(oauth):
            raise ValueError("give either 'token' or 'token_url' + 'client_id' + 'client_secret'")
        if not self.token and not all(oauth):
            raise ValueError(
                "auth is missing: give 'token' (a bearer token) or 'token_url', 'client_id' "
                "and 'client_secret' (OAuth2 client credentials)"
            )
        if not self.roles:
            raise ValueError("'roles' must name at least one of 'student', 'teacher'")
        return self
