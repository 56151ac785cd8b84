"""``ess sandbox ims``: the synthetic municipality served as Tieto's Organization API (IMS
Enterprise over mutual TLS with an API key) until cancelled."""

from __future__ import annotations

from adapters.kit.sandbox.command import MunicipalitySandboxCommand, rows_banner

from . import ImsSandbox
from .settings import SandboxInfo


def banner(info: SandboxInfo, size: str, seed: int) -> str:
    return rows_banner(
        f"IMS Enterprise sandbox (Tieto Organization API v12) serving a {size} municipality "
        f"(seed {seed}).",
        [
            ("urls", ", ".join(info.urls)),
            ("delta_url", f"{info.delta_url}   (?from=DATE-TIME)"),
            ("api_key", f"{info.api_key}   (throw-away key of this sandbox)"),
            ("api_key_header", info.api_key_header),
            ("verify", f"{info.ca_cert}   (the sandbox's CA)"),
            ("client_cert", f"{info.client_cert}   (certificate and key; required)"),
            ("advance", f'POST {info.inspect_url}/advance {{"kind": "term"}}'),
        ],
    )


# ``--set NAME=VALUE`` may set any setting by name:
# ``requests_per_second``, ``fault_kinds``, ``api_key_header``, ``time_scale``.
# An unknown name or a bad value is refused before anything starts.
SANDBOX = MunicipalitySandboxCommand(
    "ims",
    "IMS Enterprise (Tieto Organization API v12) over mutual TLS, generated municipality",
    ImsSandbox,
    banner,
)
