"""Runtime knobs, connection facts and counters of the Microsoft 365 sandbox.

Settings stay a mutable dataclass on purpose: tests and ``POST /_sandbox/settings`` change them
while the server runs, and the next request sees the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.kit.sandbox import KitSettings, SettingsError
from adapters.kit.sandbox.reports import JsonLineInfo, KitCounters, StatusCounts

DEFAULT_PERMISSIONS = (
    "EduRoster.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Team.Create",
    "TeamSettings.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
    "Application.Read.All",
    "Domain.Read.All",
    "Organization.Read.All",
)
"""What an app set up by docs/targets/microsoft.md holds, plus what its check reads with."""
DEFAULT_SKUS = (
    "314c4481-f395-4525-be8b-2ec4bb1e9d91=STANDARDWOFFPACK_STUDENT",
    "94763226-9b3c-4e75-a931-5c89701abe66=STANDARDWOFFPACK_FACULTY",
)

__all__ = ["SandboxInfo", "SandboxSettings", "SandboxStats", "SettingsError"]


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour of the sandbox; every field may change while it runs.

    The kit's fields come first (latency_ms, fault_rate, fault_kinds: 5xx, applied_5xx,
    timeout; timeout_hang_s, seed, time_scale); every delay and window below is multiplied by
    ``time_scale`` when applied."""

    propagation_delay_s: float = 0.0  # new objects 404 for this long
    team_min_group_age_s: float = 0.0  # a group younger than this cannot become a team yet
    team_operation_delay_s: float = 0.2  # teamsAsyncOperation inProgress -> succeeded
    directory_write_limit: int = 3000  # per directory_write_window_s per app+tenant
    directory_write_window_s: float = 150.0
    team_create_per_second: float = 10.0
    token_lifetime_s: float = 3599.0  # access token lifetime (expires_in)
    delta_token_ttl_s: float = 7 * 24 * 3600.0  # directory delta tokens live 7 days
    page_size: int = 100  # default page size of collections without $top
    # what ``ess target check`` reads (sandbox/tenant.py): the app's granted application
    # permissions (also the token's ``roles``), extra domains, and ``skuId=PART`` licences
    granted_permissions: tuple[str, ...] = DEFAULT_PERMISSIONS
    verified_domains: tuple[str, ...] = ()
    unverified_domains: tuple[str, ...] = ()
    subscribed_skus: tuple[str, ...] = DEFAULT_SKUS
    exhausted_skus: tuple[str, ...] = ()  # skuIds with every unit consumed
    client_secret_days: float = 365.0  # the app's client secret ends this many days from now
    certificate_days: float = 730.0  # and its certificate


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches a running sandbox (printed by ``ess sandbox microsoft --json``)."""

    authority: str  # "https://127.0.0.1:PORT/<tenant_id>"
    graph_url: str  # "https://127.0.0.1:PORT/v1.0"
    tenant_id: str
    client_id: str
    client_secret: str
    client_cert_path: str  # PEM: private key + certificate accepted for client_assertion
    client_cert_thumbprint: str  # SHA-1 hex, as MSAL wants it
    ca_path: str  # PEM of the test CA; clients pass verify=ca_path
    inspect_url: str  # "https://127.0.0.1:PORT/_sandbox"


@dataclass(frozen=True)
class SandboxStats(StatusCounts):
    """Counters since start (or the last reset).

    ``requests`` counts Graph requests: each HTTP request under /v1.0 (a $batch envelope too) and
    each inner request of a $batch. ``write_requests`` counts POST/PATCH/PUT/DELETE units, inner
    requests included, the $batch envelope not. ``by_status`` counts every status sent, inner
    responses included.
    """

    requests: int
    write_requests: int
    batch_requests: int
    throttled: int  # 429s sent (inner included)
    early_retries: int  # sent after a 429 was delivered, before its Retry-After had elapsed
    faults_injected: int
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass
class StatsCounter(KitCounters):
    """The mutable counters behind SandboxStats (a 429 counts as throttled too)."""

    requests: int = 0
    write_requests: int = 0

    def count_status(self, status: int) -> None:
        super().count_status(status)
        if status == 429:
            self.throttled += 1
