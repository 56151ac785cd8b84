"""``ess sandbox microsoft``: serve the Microsoft 365 sandbox until cancelled."""

from __future__ import annotations

from typing import Any

from adapters.kit.sandbox import changes_from_strings
from adapters.kit.sandbox.command import ConfiguredSandboxCommand, rows_banner

from .server import MicrosoftSandbox
from .settings import SandboxInfo, SandboxSettings


def settings_from_strings(extra: dict[str, str]) -> dict[str, Any]:
    """``name=value`` extras from the command line, typed like the SandboxSettings fields.

    Raises SettingsError naming an unknown setting or a value that is not a number."""
    return changes_from_strings(SandboxSettings, extra)


def banner(info: SandboxInfo) -> str:
    """The human start banner (the secret is the sandbox's own throw-away demo secret)."""
    return rows_banner(
        "Microsoft 365 sandbox (Entra token endpoint + Graph v1.0) is listening.",
        [
            ("authority", info.authority),
            ("Graph URL", info.graph_url),
            ("tenant id", info.tenant_id),
            ("client id", info.client_id),
            ("client secret", f"{info.client_secret}   (demo secret of this sandbox only)"),
            (
                "client cert",
                f"{info.client_cert_path} (thumbprint {info.client_cert_thumbprint})",
            ),
            ("CA certificate", f"{info.ca_path}   (clients pass verify=<this path>)"),
            ("inspection", f"{info.inspect_url}/state, /stats, /settings (loopback, no token)"),
        ],
    )


SANDBOX = ConfiguredSandboxCommand(
    "microsoft",
    "Entra token endpoint + Microsoft Graph v1.0 (education, groups, Class Teams)",
    MicrosoftSandbox,
    banner,
)
