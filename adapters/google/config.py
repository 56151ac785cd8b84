"""The ``[tenants.NAME.targets.google]`` table, validated at the edge.

The service account key is a secret reference (``env:NAME`` / ``file:PATH``); this model only
checks its form, the target resolves it when it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.kit.naming import checked_template
from engine.secrets import check_reference

ROOT_URL = "https://www.googleapis.com/"
EMAIL_FIELDS = frozenset({"given", "family", "middle", "domain", "id8", "id"})
COURSE_FIELDS = frozenset(
    {"name", "school_year", "school_year_short", "term", "id8", "id", "school", "subject", "type"}
)
OU_FIELDS = frozenset({"school", "school_code", "role"})
GROUP_FIELDS = frozenset({"school", "school_code", "role", "domain"})
CourseTemplate = Annotated[str, checked_template(COURSE_FIELDS, "course template")]
CLASSROOM_PER_USER_PER_MIN = 1200
CLASSROOM_PER_PROJECT_PER_MIN = 3000


class GoogleConfig(BaseModel):
    """Connection, naming and lifecycle settings of one Google Workspace for Education domain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "google"
    domain: str = Field(min_length=3)
    service_account_key: str  # a secret reference to the JSON key
    admin_subjects: tuple[str, ...] = Field(min_length=1)
    root_url: str = ROOT_URL
    token_uri: str | None = None  # default: the key's own token_uri
    batch_url: str | None = None  # default: root_url + "batch"
    verify: Path | None = None  # a CA bundle (the sandbox's); default: the system's
    timeout_s: float = Field(30.0, gt=0, le=600)
    email_template: Annotated[
        str, checked_template(EMAIL_FIELDS, "email_template", address=True)
    ] = "{given}.{family}@{domain}"
    # what identifies an existing account to adopt: its address, or an ``organization``
    # external id holding the source's person id (adapters/google/adopt.py)
    match_key: Literal["primaryEmail", "externalId"] = "primaryEmail"
    org_unit_root: str = "/ESS"
    org_unit_template: Annotated[str, checked_template(OU_FIELDS, "org_unit_template")] = (
        "{school}/{role}"
    )
    student_ou_name: str = "Elever"
    teacher_ou_name: str = "Personal"
    school_groups: bool = False  # a Directory group of each school's students and staff
    group_email_template: Annotated[
        str, checked_template(GROUP_FIELDS, "group_email_template", address=True)
    ] = "{school}.{role}@{domain}"
    group_name_template: Annotated[str, checked_template(GROUP_FIELDS, "group_name_template")] = (
        "{school} {role}"
    )
    course_name_template: CourseTemplate = "{name} {school_year_short}"
    course_section_template: CourseTemplate = "{school} {school_year}"
    course_state: Literal["PROVISIONED", "ACTIVE"] = "ACTIVE"
    classroom_per_user_per_min: int = Field(CLASSROOM_PER_USER_PER_MIN, ge=1)
    classroom_per_project_per_min: int = Field(CLASSROOM_PER_PROJECT_PER_MIN, ge=1)
    quota_window_s: float = Field(60.0, gt=0, le=60)  # shorter only for a time-scaled sandbox
    max_concurrency: int = Field(4, ge=1, le=64)
    consistency_window_s: float = Field(10.0, ge=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """``match_on`` is the earlier name of ``match_key`` (deprecated, read for a release)."""
        if isinstance(data, dict) and "match_on" in data:
            data = dict(data)
            old = data.pop("match_on")
            if "match_key" in data and data["match_key"] != old:
                raise ValueError("match_on and match_key disagree: keep match_key only")
            data["match_key"] = old
        return data

    @field_validator("service_account_key")
    @classmethod
    def _secret(cls, value: str) -> str:
        problem = check_reference(value)
        if problem:
            raise ValueError(f"service_account_key: {problem}")
        return value

    @field_validator("admin_subjects")
    @classmethod
    def _subjects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for subject in value:
            if "@" not in subject:
                raise ValueError(f"admin subject {subject!r} is not an email address")
        return value

    @field_validator("org_unit_root")
    @classmethod
    def _root(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"org_unit_root {value!r} must start with '/'")
        return value.rstrip("/") or "/"

    @property
    def classroom_per_min(self) -> int:
        """Classroom calls a minute ESS may make: each admin subject's quota, up to the
        project's."""
        return min(
            self.classroom_per_user_per_min * len(self.admin_subjects),
            self.classroom_per_project_per_min,
        )
