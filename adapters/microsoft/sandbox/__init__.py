"""A local emulator of the Entra token endpoint and Microsoft Graph v1.0 for ESS.

Tests, benchmarks and ``ess demo`` run against it over HTTPS on loopback, with MSAL doing real
client-credentials logins. See docs/sandboxes/microsoft.md for what it emulates.
"""

from .server import MicrosoftSandbox, SandboxError
from .settings import SandboxInfo, SandboxSettings, SandboxStats

__all__ = ["MicrosoftSandbox", "SandboxError", "SandboxInfo", "SandboxSettings", "SandboxStats"]
