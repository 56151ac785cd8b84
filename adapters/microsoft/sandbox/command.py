"""``ess sandbox microsoft``: serve the Microsoft 365 sandbox until cancelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.kit.sandbox import changes_from_strings
from adapters.kit.sandbox.command import serve_announced, settings_from_options
from engine.plugins import SandboxOptions

from .server import MicrosoftSandbox
from .settings import SandboxInfo, SandboxSettings


def settings_from_strings(extra: dict[str, str]) -> dict[str, Any]:
    """``name=value`` extras from the command line, typed like the SandboxSettings fields.

    Raises SettingsError naming an unknown setting or a value that is not a number."""
    return changes_from_strings(SandboxSettings, extra)


def banner(info: SandboxInfo) -> str:
    """The human start banner (the secret is the sandbox's own throw-away demo secret)."""
    return "\n".join(
        [
            "Microsoft 365 sandbox (Entra token endpoint + Graph v1.0) is listening.",
            f"  authority      {info.authority}",
            f"  Graph URL      {info.graph_url}",
            f"  tenant id      {info.tenant_id}",
            f"  client id      {info.client_id}",
            f"  client secret  {info.client_secret}   (demo secret of this sandbox only)",
            f"  client cert    {info.client_cert_path} (thumbprint {info.client_cert_thumbprint})",
            f"  CA certificate {info.ca_path}   (clients pass verify=<this path>)",
            f"  inspection     {info.inspect_url}/state, /stats, /settings (loopback, no token)",
            "Stop with Ctrl+C.",
        ]
    )


class MicrosoftSandboxCommand:
    """engine.plugins.SandboxCommand for the Microsoft 365 sandbox."""

    name = "microsoft"
    summary = "Entra token endpoint + Microsoft Graph v1.0 (education, groups, Class Teams)"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        settings = settings_from_options(SandboxSettings, options)
        sandbox = MicrosoftSandbox(
            host=options.host, port=options.port, settings=settings, workdir=options.state_dir
        )
        await serve_announced(sandbox, options, emit, banner)


SANDBOX = MicrosoftSandboxCommand()
