"""``ess sandbox oneroster``: the synthetic municipality served as OneRoster 1.2 REST until
cancelled."""

from __future__ import annotations

from collections.abc import Callable

from adapters.kit.sandbox.command import rows_banner, serve_announced, settings_from_options
from engine.plugins import SandboxOptions


def banner(info: object, size: str, seed: int) -> str:
    from adapters.oneroster.sandbox import SandboxInfo

    assert isinstance(info, SandboxInfo)
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


class OneRosterSandboxCommand:
    """engine.plugins.SandboxCommand for the OneRoster sandbox; ``options.extra`` may set any
    setting by name (``requests_per_second``, ``fault_kinds``, ``token_lifetime_s``,
    ``max_limit``, ``time_scale``); an unknown name or a bad value is refused before anything
    starts."""

    name = "oneroster"
    summary = "OneRoster 1.2 rostering REST server (v1p2) with a generated municipality"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        from adapters.oneroster.sandbox import OneRosterSandbox, SandboxSettings

        sandbox = OneRosterSandbox(
            size=options.size,
            seed=options.seed,
            host=options.host,
            port=options.port,
            settings=settings_from_options(SandboxSettings, options),
            workdir=options.state_dir,
        )
        await serve_announced(
            sandbox, options, emit, lambda info: banner(info, options.size, options.seed)
        )


SANDBOX = OneRosterSandboxCommand()
