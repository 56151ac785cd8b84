"""Runtime settings and connection facts of the IMS (Tieto Organization API) sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from adapters.kit.sandbox import KitSettings, SettingsError
from adapters.kit.sandbox.reports import JsonLineInfo

FAULT_KINDS = ("5xx", "html", "truncated")  # drawn from by default
KNOWN_FAULTS = (*FAULT_KINDS, "timeout")


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour knobs; the running sandbox reads them on every request.

    The kit's fields come first (latency_ms, fault_rate, fault_kinds, timeout_hang_s, seed,
    time_scale). Fault kinds: ``5xx`` (500/502/503 instead of the document), ``html`` (an HTML
    error page with 200), ``truncated`` (the document cut in half) and, when named,
    ``timeout`` (no answer for ``timeout_hang_s``, then 504). ``api_key_header`` names the
    header that carries the key: Tieto's own name is not confirmed by a public document."""

    KNOWN_FAULTS: ClassVar[tuple[str, ...]] = KNOWN_FAULTS
    FIXED: ClassVar[frozenset[str]] = frozenset({"api_key_header"})

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    requests_per_second: float = 0  # 0: unthrottled
    api_key_header: str = "X-Api-Key"

    def check(self) -> None:
        bad = [k for k in self.fault_kinds if k not in KNOWN_FAULTS]
        if bad:
            raise SettingsError(f"unknown fault kinds {bad}; known: {', '.join(KNOWN_FAULTS)}")
        if not self.api_key_header.replace("-", "").isalnum():
            raise SettingsError("setting 'api_key_header' must be a header name")
        super().check()


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches the sandbox (``ess sandbox ims --json``): the source's ``urls``,
    ``delta_url``, ``api_key`` (a throw-away of this sandbox), ``api_key_header``, ``verify``
    (``ca_cert``) and ``client_cert`` (certificate and key in one PEM)."""

    urls: tuple[str, ...]
    delta_url: str  # the delta export; ``from`` says since when
    api_key: str
    api_key_header: str
    ca_cert: str
    client_cert: str
    inspect_url: str
