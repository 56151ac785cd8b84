"""Runtime knobs, connection facts and counters of the SCIM sandbox.

The capabilities (PATCH, Bulk, ETags, the most results a page holds) are what its
ServiceProviderConfig announces, so they are fixed once it runs; throttling and faults may
change while it runs. ``requests_per_second`` is 0 (no limit) by default: SCIM publishes no
rate limit, each service sets its own (unverified per service).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.kit.sandbox import KitSettings, SettingsError
from adapters.kit.sandbox.reports import JsonLineInfo, StatusCounts

PROFILES = ("core", "egil")


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour of the SCIM sandbox (the kit's fields first)."""

    FIXED = frozenset(
        {
            "profile",
            "bulk",
            "etag",
            "patch",
            "filter",
            "max_results",
            "bulk_max_operations",
            "bulk_max_payload",
        }
    )

    profile: str = "core"
    bulk: bool = True
    etag: bool = True
    patch: bool = True
    filter: bool = True
    max_results: int = 1000
    bulk_max_operations: int = 1000
    bulk_max_payload: int = 1_048_576  # bytes of one Bulk request (scim2-server's default)
    requests_per_second: float = 0.0  # 0: never throttled
    revoked: bool = False  # every token refused (401), as a revoked secret would be
    token_lifetime_s: float = 3600.0

    def check(self) -> None:
        super().check()
        if self.profile not in PROFILES:
            raise SettingsError(f"setting 'profile' must be one of {list(PROFILES)}")
        if self.max_results < 1 or self.bulk_max_operations < 1 or self.bulk_max_payload < 1:
            raise SettingsError(
                "settings 'max_results', 'bulk_max_operations' and 'bulk_max_payload' must be >= 1"
            )
        if self.requests_per_second < 0:
            raise SettingsError("setting 'requests_per_second' must be 0 (no limit) or more")


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches a running sandbox (``ess sandbox scim --json``)."""

    base_url: str  # "https://127.0.0.1:PORT/v2"
    token_url: str  # OAuth2 client credentials
    bearer_token: str  # a static token the sandbox accepts (a throw-away of this sandbox)
    client_id: str
    client_secret: str
    profile: str
    inspect_url: str
    ca_path: str  # PEM of the sandbox's throw-away CA; clients trust it


@dataclass(frozen=True)
class SandboxStats(StatusCounts):
    """Counters since start (or the last reset): SCIM requests served, writes (each operation
    of a Bulk request counted alone), Bulk requests, 429s sent, writes that came back before
    their Retry-After ran out, faults injected."""

    requests: int
    writes: int
    bulk_requests: int
    throttled: int
    early_retries: int
    faults_injected: int
    by_status: dict[int, int] = field(default_factory=dict)


__all__ = ["PROFILES", "SandboxInfo", "SandboxSettings", "SandboxStats", "SettingsError"]
