"""Runtime knobs, connection facts and counters of the Google Workspace sandbox.

The published limits are the defaults: Classroom allows 1,200 calls a minute per user and 3,000
a minute per Cloud project, the Directory 2,400 a minute per user; every call inside a batch
counts. Every window and delay is multiplied by ``time_scale`` when applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.kit.sandbox import KitSettings, SettingsError
from adapters.kit.sandbox.reports import JsonLineInfo, StatusCounts

__all__ = ["SandboxInfo", "SandboxSettings", "SandboxStats", "SettingsError"]

CLASSROOM_SCOPES = (
    "https://www.googleapis.com/auth/classroom.courses",
    "https://www.googleapis.com/auth/classroom.rosters",
    "https://www.googleapis.com/auth/classroom.profile.emails",
)
DIRECTORY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
    "https://www.googleapis.com/auth/admin.directory.group",
)
DELEGATED_SCOPES = CLASSROOM_SCOPES + DIRECTORY_SCOPES


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour of the sandbox; every field but ``admins`` may change while it runs.

    The kit's fields come first (latency_ms, fault_rate, fault_kinds: 5xx, applied_5xx,
    timeout; timeout_hang_s, seed, time_scale)."""

    FIXED = frozenset({"admins", "domain"})

    domain: str = "skola.example"
    admins: int = 3  # admin subjects the service account may impersonate
    classroom_per_user_per_min: int = 1200
    classroom_per_project_per_min: int = 3000
    directory_per_user_per_min: int = 2400
    classroom_batch_limit: int = 50
    directory_batch_limit: int = 1000
    course_member_limit: int = 1000
    course_teacher_limit: int = 20
    new_user_not_found_s: float = 0.0  # Classroom answers NOT_FOUND for a user this new
    token_lifetime_s: float = 3600.0
    classroom_api_enabled: bool = True  # the Admin console's Classroom data access switch
    delegated_scopes: tuple[str, ...] = DELEGATED_SCOPES  # domain-wide delegation grants

    def check(self) -> None:
        super().check()
        if self.admins < 1:
            raise SettingsError("setting 'admins' must be at least 1")
        if not 1 <= self.classroom_batch_limit <= 1000:
            raise SettingsError("setting 'classroom_batch_limit' must be between 1 and 1000")
        if not 1 <= self.directory_batch_limit <= 1000:
            raise SettingsError("setting 'directory_batch_limit' must be between 1 and 1000")


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches a running sandbox (printed by ``ess sandbox google --json``)."""

    root_url: str  # "https://127.0.0.1:PORT/": the api_endpoint of both APIs
    token_uri: str  # "https://127.0.0.1:PORT/token"
    batch_url: str  # "https://127.0.0.1:PORT/batch"
    domain: str
    customer_id: str
    admin_subjects: tuple[str, ...]
    key_file: str  # the service account's JSON key (a throw-away key of this sandbox)
    client_email: str
    ca_path: str  # PEM of the test CA; clients trust it
    inspect_url: str


@dataclass(frozen=True)
class SandboxStats(StatusCounts):
    """Counters since start (or the last reset).

    ``http_requests`` counts HTTP requests to the APIs (a batch envelope once); ``calls``
    counts API calls, each part of a batch alone, as the quotas do. ``write_calls`` counts
    POST/PATCH/PUT/DELETE calls, ``classroom_calls`` the Classroom API's; ``by_status`` counts
    every status sent, batch parts
    included."""

    http_requests: int
    calls: int
    write_calls: int
    classroom_calls: int  # the calls Classroom's quotas count
    batch_requests: int
    largest_batch: int
    throttled: int
    early_retries: int
    faults_injected: int
    by_status: dict[int, int] = field(default_factory=dict)
