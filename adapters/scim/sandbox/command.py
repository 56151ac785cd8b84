"""``ess sandbox scim``: serve the SCIM sandbox (scim2-server) until cancelled;
``--set profile=egil`` serves the EGIL profile."""

from __future__ import annotations

from adapters.kit.sandbox.command import ConfiguredSandboxCommand, rows_banner

from . import ScimSandbox
from .settings import SandboxInfo


def banner(info: SandboxInfo) -> str:
    """The human start banner (the token and secret are this sandbox's own throw-aways)."""
    return rows_banner(
        f"SCIM 2.0 sandbox (scim2-server, profile {info.profile}) is listening.",
        [
            ("base URL", info.base_url),
            ("bearer token", f"{info.bearer_token}   (throw-away token of this sandbox only)"),
            ("token URL", f"{info.token_url}   (OAuth2 client credentials)"),
            ("client id", info.client_id),
            ("client secret", info.client_secret),
            ("CA certificate", f"{info.ca_path}   (clients trust this CA)"),
            ("inspection", f"{info.inspect_url}/state, /stats, /settings (loopback, no token)"),
        ],
    )


SANDBOX = ConfiguredSandboxCommand(
    "scim",
    "SCIM 2.0 service (scim2-server), profile core or egil (--set profile=egil)",
    ScimSandbox,
    banner,
)
