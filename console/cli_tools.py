"""Commands around the sync: sandboxes, sample data, the console, the MCP server, the demo.

The console, the MCP server and the demo are imported only when their command runs, so the
rest of the command line starts fast and works even where they are not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from console import render
from console.cli_common import emit_json, front_actor, out, state
from console.cli_errors import CliError
from engine.plugins import PluginError, SampleRequest, SandboxOptions, names
from engine.plugins import load as load_plugin
from engine.secrets import check_reference

SIZES = ("small", "medium", "large")
SizeOpt = Annotated[str, typer.Option("--size", help="small, medium, large or a number.")]


@contextlib.contextmanager
def _missing(package: str, what: str) -> Iterator[None]:
    """Import a front end lazily; an installation without it gets one clear line (exit 2)."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == package or exc.name.startswith(package + ".")):
            raise CliError(
                f"{what} is not available in this installation ({exc.name} is missing)"
            ) from None
        raise


def _plugin(group: str, name: str, what: str) -> Any:
    """Load a plugin; an unknown name lists the installed ones (exit 2)."""
    installed = names(group)
    if name not in installed:
        raise CliError(f"no {what} named {name!r}; installed: {', '.join(installed) or 'none'}")
    try:
        return load_plugin(group, name)
    except PluginError as exc:
        raise CliError(str(exc)) from None


def _iso_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise CliError(f"--as-of must be a date such as 2025-08-18, not {value!r}") from None


def _emit(line: str) -> None:
    typer.echo(line)
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


def sandbox(
    name: Annotated[str, typer.Argument(help="Which sandbox (ss12000, microsoft, ...).")],
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="0: any free port.")
    ] = 0,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    size: SizeOpt = "small",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    latency_ms: Annotated[float, typer.Option("--latency-ms", min=0)] = 0.0,
    fault_rate: Annotated[float, typer.Option("--fault-rate", min=0, max=1)] = 0.0,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Where the sandbox keeps its files.")
    ] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE passed to the sandbox.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the start banner as one JSON line.")
    ] = False,
) -> None:
    """Serve a local emulator of an external system until Ctrl-C."""
    plugin = _plugin("ess.sandboxes", name, "sandbox")
    extra: dict[str, str] = {}
    for item in setting or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--set takes KEY=VALUE, not {item!r}")
        extra[key] = value
    options = SandboxOptions(
        host=host,
        port=port,
        size=_size(size),
        seed=seed,
        json_output=as_json,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        state_dir=state_dir,
        extra=extra,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(plugin, options))


async def _serve_until_stopped(plugin: Any, options: SandboxOptions) -> None:
    """Serve until Ctrl-C or SIGTERM, letting the sandbox clean up either way."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await plugin.serve(options, emit=_emit)


def _size(value: str) -> str:
    if value in SIZES or (value.isdigit() and int(value) > 0):
        return value
    raise CliError(f"--size is small, medium, large or a positive number, not {value!r}")


def _sample(fmt: str, request: SampleRequest, as_json: bool, title: str) -> None:
    generator = _plugin("ess.samples", fmt, "sample format")
    try:
        counts = generator.run(request)
    except (ValueError, OSError) as exc:
        raise CliError(f"{fmt} sample: {exc}") from None
    if as_json:
        emit_json({"out": str(request.out), "counts": counts})
    else:
        typer.echo(title)
        out().print(render.counts_table(None, counts))


FormatOpt = Annotated[str, typer.Option("--format", help="The source format to write.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="The date the data describes (default today).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the counts as one JSON document.")]


def sample_generate(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.", file_okay=False)],
    size: SizeOpt = "small",
    seed: Annotated[int, typer.Option("--seed")] = 1,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "ss12000",
    as_json: JsonOpt = False,
) -> None:
    """Write a deterministic sample organiser (same seed, same data) to a folder."""
    request = SampleRequest(out=out_dir, size=_size(size), seed=seed, as_of=_iso_date(as_of))
    _sample(fmt, request, as_json, f"wrote {out_dir}")


def sample_advance(
    folder: Annotated[Path, typer.Argument(help="A folder made by `ess sample generate`.")],
    kind: Annotated[
        Literal["term", "year"], typer.Option("--kind", help="Move on a term or a school year.")
    ] = "term",
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "ss12000",
    as_json: JsonOpt = False,
) -> None:
    """Move a sample on in time, in place: leavers, new pupils, next year's classes."""
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder made by `ess sample generate`")
    request = SampleRequest(out=folder, as_of=_iso_date(as_of), advance=kind)
    _sample(fmt, request, as_json, f"advanced {folder} by a {kind}")


def console_cmd(
    ctx: typer.Context,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Look only: every action is disabled.")
    ] = False,
) -> None:
    """Open the operations console (a terminal UI)."""
    st = state(ctx)
    with _missing("console.tui", "the console"):
        from console.tui.app import run_console
    run_console(st.config, read_only=read_only, actor=front_actor(st, "console"))


def mcp(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Serve HTTP instead of stdio.")] = False,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8700,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="Allow actions (still within the tiers).")
    ] = False,
    toolsets: Annotated[
        str | None,
        typer.Option(
            "--toolsets",
            metavar="NAME,...",
            help="Toolsets to offer, comma-separated, of: status, logs, explain, operations "
            "(default: all; operations only with --allow-writes).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help="Bearer token reference for HTTP: env:NAME or file:PATH."),
    ] = None,
) -> None:
    """Serve the MCP server for scripts and assistants (read-only unless --allow-writes)."""
    if token is not None and (problem := check_reference(token)):
        raise CliError(f"--token: {problem}")
    if token is not None and not http:
        raise CliError("--token applies to --http only")
    sets = {s.strip() for s in toolsets.split(",") if s.strip()} if toolsets else None
    with _missing("server", "the MCP server"):
        from server.app import ServeError, run_http, run_stdio
        from server.toolsets import ToolsetError
    config = state(ctx).config
    try:
        if http:
            run_http(
                config,
                host=host,
                port=port,
                allow_writes=allow_writes,
                toolsets=sets,
                token_ref=token,
            )
        else:
            run_stdio(config, allow_writes=allow_writes, toolsets=sets)
    except (ServeError, ToolsetError) as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        return


def demo(
    no_console: Annotated[
        bool, typer.Option("--no-console", help="Run the demo without opening the console.")
    ] = False,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Keep the demo's files here.", file_okay=False)
    ] = None,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the sandboxes serving until Ctrl-C.")
    ] = False,
) -> None:
    """The whole product against the sandboxes, in one command."""
    with _missing("console.demo", "the demo"):
        module = importlib.import_module("console.demo")
    try:
        code = module.run_demo(workdir, console=not no_console, keep_running=keep_running)
    except KeyboardInterrupt:
        return
    if isinstance(code, int) and code:
        raise typer.Exit(code)


def register(app: typer.Typer, sample: typer.Typer) -> None:
    app.command()(sandbox)
    app.command("console")(console_cmd)
    app.command()(mcp)
    app.command()(demo)
    sample.command("generate")(sample_generate)
    sample.command("advance")(sample_advance)
