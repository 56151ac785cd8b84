"""``ess sandbox ims``: the synthetic municipality served as Tieto's Organization API (IMS
Enterprise over mutual TLS with an API key) until cancelled."""

from __future__ import annotations

from collections.abc import Callable

from adapters.kit.sandbox.command import rows_banner, serve_announced, settings_from_options
from engine.plugins import SandboxOptions


def banner(info: object, size: str, seed: int) -> str:
    from adapters.ims.sandbox import SandboxInfo

    assert isinstance(info, SandboxInfo)
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


class ImsSandboxCommand:
    """engine.plugins.SandboxCommand for the IMS sandbox; ``options.extra`` may set any
    setting by name (``requests_per_second``, ``fault_kinds``, ``api_key_header``,
    ``time_scale``); an unknown name or a bad value is refused before anything starts."""

    name = "ims"
    summary = "IMS Enterprise (Tieto Organization API v12) over mutual TLS, generated municipality"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        from adapters.ims.sandbox import ImsSandbox, SandboxSettings

        sandbox = ImsSandbox(
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


SANDBOX = ImsSandboxCommand()
