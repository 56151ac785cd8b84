"""The parts every sandbox is built from; see docs/adding-an-adapter.md, "The sandbox".

A sandbox is a local emulator of an external service, served over real HTTP(S) on loopback for
tests, the demo and benchmarks. An adapter's sandbox keeps only what is its service's own (its
resources, paging, error bodies) and takes the rest from here.
"""

from .chaos import Chaos, ChaosCounters, FaultAction, arrived_at, injected_fault
from .demo import demo_secret
from .faults import APPLIED_5XX, FAULT_KINDS, FAULT_STATUSES, REFUSED_5XX, TIMEOUT, FaultDice
from .inspection import Inspection, json_response, loopback_only
from .limits import Limit, Limiter, SlidingWindow, Throttle
from .server import (
    ConfiguredSandbox,
    Sandbox,
    SandboxError,
    SandboxServer,
    ServedSandbox,
    serve_until_cancelled,
)
from .settings import KitSettings, SettingsError, apply_changes, changes_from_strings
from .tls import SandboxTLS, Workdir, make_tls
from .tokens import JWT_BEARER, OAuthRefusal, TokenCheck, TokenEndpoint, token_form

__all__ = [
    "APPLIED_5XX",
    "FAULT_KINDS",
    "FAULT_STATUSES",
    "JWT_BEARER",
    "REFUSED_5XX",
    "TIMEOUT",
    "Chaos",
    "ChaosCounters",
    "ConfiguredSandbox",
    "FaultAction",
    "FaultDice",
    "Inspection",
    "KitSettings",
    "Limit",
    "Limiter",
    "OAuthRefusal",
    "Sandbox",
    "SandboxError",
    "SandboxServer",
    "SandboxTLS",
    "ServedSandbox",
    "SettingsError",
    "SlidingWindow",
    "Throttle",
    "TokenCheck",
    "TokenEndpoint",
    "Workdir",
    "apply_changes",
    "arrived_at",
    "changes_from_strings",
    "demo_secret",
    "injected_fault",
    "json_response",
    "loopback_only",
    "make_tls",
    "serve_until_cancelled",
    "token_form",
]
