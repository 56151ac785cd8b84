"""Runtime knobs, connection facts and counters of the School Data Sync sandbox.

Every window and delay is multiplied by ``time_scale`` when applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.kit.sandbox import KitSettings, SettingsError
from adapters.kit.sandbox.reports import JsonLineInfo

__all__ = ["SandboxInfo", "SandboxSettings", "SettingsError"]


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour of the sandbox; every field may change while it runs.

    The kit's fields come first (latency_ms, fault_rate, fault_kinds: 5xx, applied_5xx,
    timeout; timeout_hang_s, seed, time_scale). Faults hit the Graph calls and the blob
    uploads, never the token endpoint or the inspection endpoints."""

    token_lifetime_s: float = 3600.0
    session_lifetime_s: float = 3600.0  # an upload session's SAS is valid this long
    validate_delay_s: float = 0.0  # a validate operation stays "running" this long
    validate_errors: int = 0  # the next N validations fail with a service error
    faults_on: str = "all"  # where faults strike: all, graph (the /beta calls) or blob
    requests_per_window: int = 0  # Graph calls allowed per window (0: no throttling)
    window_s: float = 10.0

    def check(self) -> None:
        super().check()
        if self.session_lifetime_s <= 0:
            raise SettingsError("setting 'session_lifetime_s' must be above 0")
        if self.faults_on not in ("all", "graph", "blob"):
            raise SettingsError("setting 'faults_on' must be all, graph or blob")
        if self.window_s <= 0:
            raise SettingsError("setting 'window_s' must be above 0")


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches a running sandbox (printed by ``ess sandbox sds --json``)."""

    graph_url: str  # "https://127.0.0.1:PORT/beta/"
    token_url: str  # "https://127.0.0.1:PORT/TENANT/oauth2/v2.0/token"
    tenant_id: str
    client_id: str
    client_secret: str  # a throw-away secret of this sandbox only
    data_connector_id: str
    ca_path: str
    inspect_url: str
