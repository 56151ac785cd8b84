"""``ess sandbox oneroster``: the synthetic municipality served as OneRoster 1.2 REST until
cancelled."""

from __future__ import annotations

from adapters.kit.sandbox.command import MunicipalitySandboxCommand, rows_banner

from . import OneRosterSandbox
from .settings import SandboxInfo


def banner(info: SandboxInfo, size: str, seed: int) -> str:
    return rows_banner(
        f"OneRoster 1.2 rostering sandbox serving a {size} municipality (seed {seed}).",
        [
            ("base_url", f"{info.base_url}   (API under /ims/oneroster/rostering/v1p2)"),
            ("token_url", f"{info.token_url}   (OAuth2 client credentials)"),
            ("client_id", info.client_id),
            ("client_secret", f"{info.client_secret}   (throw-away secret of this sandbox)"),
            ("verify", f"{info.ca_cert}   (the sandbox's CA)"),
            ("advance", f'POST {info.inspect_url}/advance {{"kind": "term"}}'),
        ],
    )


# ``--set NAME=VALUE`` may set any setting by name:
# ``requests_per_second``, ``fault_kinds``, ``token_lifetime_s``, ``max_limit``, ``time_scale``.
# An unknown name or a bad value is refused before anything starts.
SANDBOX = MunicipalitySandboxCommand(
    "oneroster",
    "OneRoster 1.2 rostering REST server (v1p2) with a generated municipality",
    OneRosterSandbox,
    banner,
)
