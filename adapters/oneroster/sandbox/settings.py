"""Runtime settings and connection facts of the OneRoster sandbox."""

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
    time_scale). Fault kinds: ``5xx`` (500/502/503 before the page is read), ``html`` (an HTML
    error page with 200), ``truncated`` (the page cut in half) and, when named, ``timeout``
    (no answer for ``timeout_hang_s``, then 504)."""

    KNOWN_FAULTS: ClassVar[tuple[str, ...]] = KNOWN_FAULTS

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    requests_per_second: float = 0  # 0: unthrottled
    token_lifetime_s: float = 3600
    max_limit: int = 5000  # the most objects one page holds, whatever limit asks

    def check(self) -> None:
        bad = [k for k in self.fault_kinds if k not in KNOWN_FAULTS]
        if bad:
            raise SettingsError(f"unknown fault kinds {bad}; known: {', '.join(KNOWN_FAULTS)}")
        if self.max_limit < 1:
            raise SettingsError("setting 'max_limit' must be 1 or more")
        super().check()


@dataclass(frozen=True)
class SandboxInfo(JsonLineInfo):
    """How a client reaches the sandbox (``ess sandbox oneroster --json``): the source's
    ``base_url``, ``token_url``, ``client_id``, ``client_secret`` and ``verify``."""

    base_url: str  # the server; the API is under /ims/oneroster/rostering/v1p2
    token_url: str
    client_id: str
    client_secret: str  # a throw-away of this sandbox, printed on purpose
    ca_cert: str  # the sandbox's CA: the source's ``verify``
    inspect_url: str
