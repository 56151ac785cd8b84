"""``ess sandbox ss12000``: a generated municipality served until cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from adapters.kit.sandbox import serve_until_cancelled
from adapters.kit.sandbox.command import settings_from_options
from engine.plugins import SandboxOptions


class SS12000SandboxCommand:
    """engine.plugins.SandboxCommand for the SS 12000 sandbox.

    ``options.extra`` may set any setting by name, among them ``profile`` (generic, ist,
    edlevo), ``requests_per_second``, ``fault_kinds`` (comma separated), ``token_lifetime_s``,
    ``paging`` (true/false), ``client_certs`` (true: HTTPS that requires a client certificate)
    and ``time_scale``; an unknown name or a bad value is refused before anything starts.
    """

    name = "ss12000"
    summary = "SS 12000:2020 server (IST EduCloud / Edlevo / generic) with a generated municipality"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        from adapters.ss12000.sample.generate import generate
        from adapters.ss12000.sandbox import SandboxInfo, SandboxSettings, SS12000Sandbox

        settings = settings_from_options(SandboxSettings, options)
        dataset = await asyncio.to_thread(generate, options.size, options.seed, date.today())
        sandbox = SS12000Sandbox(dataset, host=options.host, port=options.port, settings=settings)

        def announce(info: SandboxInfo) -> None:
            parts = urlsplit(info.base_url)
            root = f"{parts.scheme}://{parts.netloc}"
            if options.json_output:
                emit(info.to_json())
            else:
                counts = dataset.counts()
                emit(
                    "\n".join(
                        [
                            f"SS 12000 sandbox ({info.profile}) serving a {options.size} "
                            f"municipality (seed {options.seed}): {counts['persons']} persons, "
                            f"{counts['groups']} groups, {counts['memberships']} memberships",
                            f"  base_url      {info.base_url}",
                            f"  token_url     {info.token_url}",
                            f"  client_id     {info.client_id}",
                            f"  client_secret {info.client_secret}  (sandbox credential)",
                            *(
                                [
                                    f"  verify        {info.ca_cert}  (the sandbox's CA)",
                                    f"  client_cert   {info.client_cert}  (certificate and key)",
                                ]
                                if info.client_cert
                                else []
                            ),
                            f'  advance       POST {root}/_sandbox/advance {{"kind": "term"}}',
                            "Press Ctrl+C to stop.",
                        ]
                    )
                )

        await serve_until_cancelled(sandbox.start, sandbox.stop, announce)


SANDBOX = SS12000SandboxCommand()
