"""Runtime settings and connection facts of the SS 12000 sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import orjson

from adapters.kit.sandbox import KitSettings, SettingsError

from .profiles import PROFILES

FAULT_KINDS = ("5xx", "html", "truncated", "malformed")  # drawn from by default
KNOWN_FAULTS = (*FAULT_KINDS, "timeout")


@dataclass
class SandboxSettings(KitSettings):
    """Behaviour knobs; the running sandbox reads them on every request.

    The kit's fields come first (latency_ms, fault_rate, fault_kinds, timeout_hang_s, seed,
    time_scale). Fault kinds: ``5xx`` (the page is read, then 500/502/503), ``html`` (an HTML
    error page with 200), ``truncated`` (the page cut in half), ``malformed`` (one record of
    the page broken), and, when named, ``timeout`` (no answer for ``timeout_hang_s``, then
    504)."""

    KNOWN_FAULTS: ClassVar[tuple[str, ...]] = KNOWN_FAULTS
    FIXED: ClassVar[frozenset[str]] = frozenset({"profile", "client_certs"})

    fault_kinds: tuple[str, ...] = FAULT_KINDS
    requests_per_second: float = 0  # 0: unthrottled
    profile: str = "generic"  # generic, ist or edlevo; fixed once started
    token_lifetime_s: float = 3600
    paging: bool = True  # False: ignore limit and pageToken, like Edlevo before 1.1.0
    client_certs: bool = False  # True: HTTPS that requires a client certificate (mutual TLS)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if self.profile not in PROFILES:
            raise SettingsError(
                f"profile must be one of {', '.join(PROFILES)}, not {self.profile!r}"
            )
        bad = [k for k in self.fault_kinds if k not in KNOWN_FAULTS]
        if bad:
            raise SettingsError(f"unknown fault kinds {bad}; known: {', '.join(KNOWN_FAULTS)}")
        super().check()


@dataclass(frozen=True)
class SandboxInfo:
    """Where the sandbox listens and the client credentials it accepts."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    profile: str
    ca_cert: str | None = None  # with client_certs: the CA to trust (the source's verify)
    client_cert: str | None = None  # ... and a client certificate with its key, in one PEM

    def to_json(self) -> str:
        out: dict[str, str] = {
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "profile": self.profile,
        }
        if self.ca_cert and self.client_cert:
            out.update(ca_cert=self.ca_cert, client_cert=self.client_cert)
        return orjson.dumps(out).decode()
