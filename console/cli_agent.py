"""``ess agent`` (the on-site agent, and the hosted side's view of agents) and ``ess ingest``
(the hosted endpoint agents upload to)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from console.cli_common import emit_json, out, with_ops
from console.cli_errors import CliError, ExitCode
from engine.agent import Agent, AgentConfigError, AgentError, load_config
from engine.secrets import SecretResolver

ConfigArg = Annotated[Path, typer.Argument(help="The agent's own config file.", dir_okay=False)]


def run(
    config: ConfigArg,
    once: Annotated[bool, typer.Option("--once", help="Read and upload once, then stop.")] = False,
) -> None:
    """Read the local source on the agent's schedule and upload each snapshot to the ingest."""
    try:
        cfg = load_config(config)
    except AgentError as exc:
        raise CliError(str(exc)) from None
    resolver = SecretResolver(base_dir=config.resolve().parent)

    async def go() -> None:
        agent = Agent(cfg, resolver)
        try:
            if once:
                result = await agent.run_once()
                out().print(
                    f"uploaded {result.size} bytes as upload {result.seq} "
                    f"(resumed {result.resumed} time(s)): "
                    + ", ".join(f"{k} {v}" for k, v in result.counts.items()),
                    soft_wrap=True,
                )
            else:
                await agent.run_forever(lambda line: out().print(line, soft_wrap=True))
        finally:
            await agent.aclose()

    try:
        asyncio.run(go())
    except AgentConfigError as exc:
        raise CliError(str(exc)) from None
    except AgentError as exc:
        raise CliError(str(exc), ExitCode.UNREACHABLE) from None


def status(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Argument(help="One tenant; all by default.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Each hosted tenant's on-site agent: its last upload, its ESS version, whether stale."""
    found = with_ops(ctx, lambda ops: ops.agents(tenant), read_only=True)
    if as_json:
        emit_json(found)
        return
    if not found:
        out().print('no tenant reads from an on-site agent (source type = "agent")')
    now = datetime.now(UTC)
    for a in found:
        if a.last_upload is None:
            out().print(f"{a.tenant}: no upload yet (STALE)", soft_wrap=True)
            continue
        age = (now - a.last_upload).total_seconds() / 3600
        when = a.last_upload.strftime("%Y-%m-%d %H:%M")
        out().print(
            f"{a.tenant}: agent {a.agent}, ESS {a.version}, last upload {when} UTC "
            f"({age:.1f} h ago){' STALE' if a.stale else ''}",
            soft_wrap=True,
        )
    if any(a.stale for a in found):
        raise typer.Exit(int(ExitCode.PARTIAL))


def ingest(
    config: Annotated[Path, typer.Argument(help="The ingest's config file.", dir_okay=False)],
) -> None:
    """Serve the ingest endpoint (HTTPS) that on-site agents upload snapshots to."""
    from engine import ingest as ingest_mod  # starlette and uvicorn: this command's alone

    try:
        cfg = ingest_mod.load_config(config)
    except ingest_mod.IngestConfigError as exc:
        raise CliError(str(exc)) from None
    base = config.resolve().parent
    endpoint = ingest_mod.Ingest(cfg, SecretResolver(base_dir=base))
    settings = cfg.ingest
    for key, path in (("tls_cert", settings.tls_cert), ("tls_key", settings.tls_key)):
        if not (path if path.is_absolute() else base / path).is_file():
            raise CliError(f"{config}: ingest.{key}: no such file {path}")
    out().print(
        f"ingest listening on https://{settings.host}:{settings.port} for "
        f"{len(cfg.agents)} agent(s); uploads kept in {endpoint.inbox.root}",
        soft_wrap=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(ingest_mod.serve(endpoint, base))


def register(app: typer.Typer, agent_app: typer.Typer) -> None:
    agent_app.command("run")(run)
    agent_app.command("status")(status)
    app.command("ingest")(ingest)
