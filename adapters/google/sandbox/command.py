"""``ess sandbox google``: serve the Google Workspace sandbox until cancelled."""

from __future__ import annotations

from collections.abc import Callable

from adapters.kit.sandbox.command import serve_announced, settings_from_options
from engine.plugins import SandboxOptions

from . import GoogleSandbox
from .settings import SandboxInfo, SandboxSettings


def banner(info: SandboxInfo) -> str:
    """The human start banner (the key file is this sandbox's own throw-away key)."""
    return "\n".join(
        [
            "Google Workspace sandbox (token endpoint, Directory, Classroom) is listening.",
            f"  root URL       {info.root_url}   (client_options api_endpoint)",
            f"  token URI      {info.token_uri}",
            f"  batch URL      {info.batch_url}",
            f"  domain         {info.domain} (customer {info.customer_id})",
            f"  admin subjects {', '.join(info.admin_subjects)}",
            f"  service acct   {info.client_email}",
            f"  key file       {info.key_file}   (throw-away key of this sandbox only)",
            f"  CA certificate {info.ca_path}   (clients trust this CA)",
            f"  inspection     {info.inspect_url}/state, /stats, /settings (loopback, no token)",
            "Stop with Ctrl+C.",
        ]
    )


class GoogleSandboxCommand:
    """engine.plugins.SandboxCommand for the Google Workspace sandbox."""

    name = "google"
    summary = "Google token endpoint (service account, delegation) + Directory + Classroom"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        settings = settings_from_options(SandboxSettings, options)
        sandbox = GoogleSandbox(
            host=options.host, port=options.port, settings=settings, workdir=options.state_dir
        )
        await serve_announced(sandbox, options, emit, banner)


SANDBOX = GoogleSandboxCommand()
