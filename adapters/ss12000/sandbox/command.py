"""``ess sandbox ss12000``: a generated municipality served until cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from engine.plugins import SandboxOptions


class SS12000SandboxCommand:
    """engine.plugins.SandboxCommand for the SS 12000 sandbox.

    ``options.extra`` may set ``profile`` (generic, ist, edlevo), ``requests_per_second``,
    ``fault_kinds`` (comma separated), ``token_lifetime_s``, ``paging`` (true/false) and
    ``client_certs`` (true: HTTPS that requires a client certificate).
    """

    name = "ss12000"
    summary = "SS 12000:2020 server (IST EduCloud / Edlevo / generic) with a generated municipality"

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        from adapters.ss12000.sample.generate import generate
        from adapters.ss12000.sandbox import FAULT_KINDS, SandboxSettings, SS12000Sandbox

        extra = options.extra
        settings = SandboxSettings(
            latency_ms=options.latency_ms,
            fault_rate=options.fault_rate,
            fault_kinds=tuple(
                k.strip() for k in extra.get("fault_kinds", ",".join(FAULT_KINDS)).split(",")
            ),
            requests_per_second=float(extra.get("requests_per_second", 0)),
            seed=options.seed,
            profile=extra.get("profile", "generic"),
            token_lifetime_s=float(extra.get("token_lifetime_s", 3600)),
            paging=extra.get("paging", "true").lower() not in ("false", "0", "no"),
            client_certs=extra.get("client_certs", "false").lower() in ("true", "1", "yes"),
        )
        dataset = await asyncio.to_thread(generate, options.size, options.seed, date.today())
        sandbox = SS12000Sandbox(dataset, host=options.host, port=options.port, settings=settings)
        async with sandbox:
            info = sandbox.info
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
            await asyncio.Event().wait()


SANDBOX = SS12000SandboxCommand()
