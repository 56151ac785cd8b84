"""``ess sandbox sds``: serve the School Data Sync sandbox until cancelled."""

from __future__ import annotations

from adapters.kit.sandbox.command import ConfiguredSandboxCommand, rows_banner

from . import SdsSandbox
from .settings import SandboxInfo


def banner(info: SandboxInfo) -> str:
    """The human start banner (the secret is this sandbox's own throw-away one)."""
    return rows_banner(
        "School Data Sync sandbox (token endpoint, industryData upload path, blobs) is listening.",
        [
            ("graph URL", info.graph_url),
            ("token URL", info.token_url),
            ("tenant id", info.tenant_id),
            ("client id", info.client_id),
            ("client secret", f"{info.client_secret}   (throw-away secret of this sandbox only)"),
            ("connector id", info.data_connector_id),
            ("CA certificate", f"{info.ca_path}   (clients trust this CA)"),
            ("inspection", f"{info.inspect_url}/state, /stats, /settings (loopback, no token)"),
        ],
    )


SANDBOX = ConfiguredSandboxCommand(
    "sds",
    "School Data Sync: token endpoint + Graph industryData upload path + SAS blob container",
    SdsSandbox,
    banner,
)
