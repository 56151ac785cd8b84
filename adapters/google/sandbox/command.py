"""``ess sandbox google``: serve the Google Workspace sandbox until cancelled."""

from __future__ import annotations

from adapters.kit.sandbox.command import ConfiguredSandboxCommand, rows_banner

from . import GoogleSandbox
from .settings import SandboxInfo


def banner(info: SandboxInfo) -> str:
    """The human start banner (the key file is this sandbox's own throw-away key)."""
    return rows_banner(
        "Google Workspace sandbox (token endpoint, Directory, Classroom) is listening.",
        [
            ("root URL", f"{info.root_url}   (client_options api_endpoint)"),
            ("token URI", info.token_uri),
            ("batch URL", info.batch_url),
            ("domain", f"{info.domain} (customer {info.customer_id})"),
            ("admin subjects", ", ".join(info.admin_subjects)),
            ("service acct", info.client_email),
            ("key file", f"{info.key_file}   (throw-away key of this sandbox only)"),
            ("CA certificate", f"{info.ca_path}   (clients trust this CA)"),
            ("inspection", f"{info.inspect_url}/state, /stats, /settings (loopback, no token)"),
        ],
    )


SANDBOX = ConfiguredSandboxCommand(
    "google",
    "Google token endpoint (service account, delegation) + Directory + Classroom",
    GoogleSandbox,
    banner,
)
