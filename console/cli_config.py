"""``ess init`` and ``ess config check``: a starter ess.toml, and every problem in one pass.

The check reports the engine's problems (keys, tiers, schedules, policy), each adapter table
validated by that adapter's own ``config_model``, and the form of every secret reference,
never its value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from console.cli_common import emit_json, state
from console.cli_errors import CliError, ExitCode, format_problem
from console.cli_starter import STARTER_TOML
from engine.config import (
    SOURCE_KEYS,
    ConfigError,
    ConfigProblem,
    adapter_problems,
    find_line,
    load,
)
from engine.plugins import PluginError
from engine.plugins import load as load_plugin
from engine.secrets import check_reference

SECRET_KEY = re.compile(r"(^|_)(secret|password|passphrase|token)$")


def _secret_problems(
    raw: Mapping[str, Any], text: str, prefix: tuple[str, ...] = ()
) -> Iterator[ConfigProblem]:
    """Keys named like secrets must hold a reference, whichever table they sit in."""
    for key, value in raw.items():
        loc = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from _secret_problems(value, text, loc)
        elif isinstance(value, str) and SECRET_KEY.search(str(key)):
            problem = check_reference(value)
            if problem:
                yield ConfigProblem(".".join(loc), find_line(text, loc), problem)


def _adapter_table_problems(
    group: str, loc: tuple[str, ...], table: Mapping[str, Any], default_type: str | None, text: str
) -> list[ConfigProblem]:
    kind = table.get("type", default_type)
    if kind is None:
        return []  # the engine already reports a source without a type
    type_loc = (*loc, "type")
    if not isinstance(kind, str):
        return [ConfigProblem(".".join(type_loc), find_line(text, type_loc), "must be a string")]
    try:
        adapter = load_plugin(group, kind)
    except PluginError as exc:
        line = find_line(text, type_loc) if "type" in table else find_line(text, loc)
        return [ConfigProblem(".".join(type_loc), line, str(exc))]
    model = getattr(adapter, "config_model", None)
    if model is None:
        return []
    return adapter_problems(text, loc, model, table)


def _more_source_problems(tid: str, tenant: Mapping[str, Any], text: str) -> list[ConfigProblem]:
    """Each of several sources' tables (less the engine's keys) and a rekey's old source."""
    problems: list[ConfigProblem] = []
    sources = tenant.get("sources")
    if isinstance(sources, Mapping):
        for key, table in sources.items():
            if isinstance(table, Mapping):
                adapter = {k: v for k, v in table.items() if k not in SOURCE_KEYS}
                problems += _adapter_table_problems(
                    "ess.sources", ("tenants", tid, "sources", key), adapter, None, text
                )
    rekey = tenant.get("rekey")
    previous = rekey.get("from") if isinstance(rekey, Mapping) else None
    if isinstance(previous, Mapping):
        problems += _adapter_table_problems(
            "ess.sources", ("tenants", tid, "rekey", "from"), previous, None, text
        )
    return problems


def check_file(path: Path) -> list[ConfigProblem]:
    """Every problem of one ess.toml, in file order where lines are known."""
    problems: list[ConfigProblem] = []
    raw: Mapping[str, Any] = {}
    text = ""
    try:
        loaded = load(path)
        raw = loaded.raw
        text = path.read_text(encoding="utf-8")
    except ConfigError as exc:
        problems.extend(exc.problems)
        try:
            text = path.read_text(encoding="utf-8")
            raw = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, RecursionError, tomllib.TOMLDecodeError):
            return problems
    tenants = raw.get("tenants")
    if isinstance(tenants, Mapping):
        for tid, tenant in tenants.items():
            if not isinstance(tenant, Mapping):
                continue
            source = tenant.get("source")
            if isinstance(source, Mapping):
                problems += _adapter_table_problems(
                    "ess.sources", ("tenants", tid, "source"), source, None, text
                )
            problems += _more_source_problems(tid, tenant, text)
            targets = tenant.get("targets")
            if isinstance(targets, Mapping):
                for name, table in targets.items():
                    if isinstance(table, Mapping):
                        problems += _adapter_table_problems(
                            "ess.targets", ("tenants", tid, "targets", name), table, name, text
                        )
    problems += _secret_problems(raw, text)
    unique = {(p.key, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: (p.line or 0, p.key))


def config_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Validate ess.toml, each source and target table, and the form of secret references."""
    path = state(ctx).config
    problems = check_file(path)
    if as_json:
        emit_json(
            {
                "path": str(path),
                "ok": not problems,
                "problems": [
                    {"key": p.key, "line": p.line, "message": p.message} for p in problems
                ],
            }
        )
    elif problems:
        for p in problems:
            typer.echo(format_problem(path, p))
        typer.echo(f"{len(problems)} problem(s) in {path}", err=True)
    else:
        cfg = load(path).config
        tenants = cfg.tenants
        typer.echo(f"{path}: ok ({len(tenants)} tenant(s): {', '.join(tenants)})")
        for note in cfg.mcp.deprecations:
            typer.echo(f"note: {note}")
    if problems:
        raise typer.Exit(int(ExitCode.PARTIAL))


def init(
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Where to write ess.toml.", file_okay=False)
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing ess.toml.")] = False,
) -> None:
    """Write a commented starter ess.toml (a tenant on the sandboxes) and say what is next."""
    path = directory / "ess.toml"
    if path.exists() and not force:
        raise CliError(f"{path} already exists; keep it, or overwrite it with --force")
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_TOML, encoding="utf-8")
    where = "" if directory == Path(".") else f" (in {directory})"
    typer.echo(
        f"Wrote {path}. Next{where}:\n"
        "  1. Start the sandboxes, each in its own terminal:\n"
        "       ess sandbox ss12000 --port 8400\n"
        "       ess sandbox microsoft --port 8401 --state-dir sandbox/microsoft\n"
        "  2. Give ESS the client secrets their banners show:\n"
        "       export ESS_SS12000_SECRET=... ESS_MICROSOFT_SECRET=...\n"
        "  3. Check the configuration:   ess config check\n"
        "  4. Plan without applying:     ess sync example --dry-run\n"
        "  5. Run it, then watch it:     ess sync example; ess console\n"
        "Or see everything at once with `ess demo`. docs/configuration.md describes every key."
    )


def register(app: typer.Typer, config: typer.Typer) -> None:
    app.command()(init)
    config.command("check")(config_check)
