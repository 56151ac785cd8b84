"""Every command's help reads as a person would write it: values named for what they take,
valid values listed, no typer placeholders, no double backticks; shell completion is offered."""

from __future__ import annotations

import re
from typing import Any

import typer.main
from typer.testing import CliRunner

from console.cli import app

runner = CliRunner()
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|<(str|int|float|list|file|path|bool)[^>]*>|``")


def helps(command: Any, ctx: Any) -> dict[str, str]:
    """The help of a command and of every subcommand under it, by command path, as shown."""
    found = {ctx.command_path: command.get_help(ctx)}
    for name in getattr(command, "commands", {}):
        sub = command.get_command(ctx, name)  # as the command line finds it
        found |= helps(sub, sub.make_context(name, ["--help"], parent=ctx, resilient_parsing=True))
    return found


def test_no_help_shows_a_placeholder() -> None:
    top = typer.main.get_command(app)
    every = helps(top, top.make_context("ess", [], resilient_parsing=True))
    assert len(every) > 30
    bad = {}
    for path, text in every.items():
        hits = sorted({m.group(0) for m in PLACEHOLDER.finditer(text)})
        if hits:
            bad[path] = hits
    assert bad == {}


def help_of(*command: str) -> str:
    return " ".join(runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).stdout.split())


def test_valid_values_are_listed() -> None:
    assert "--severity blocking|warning" in help_of("findings")
    assert "--level debug|info|warning|error" in help_of("logs")
    assert "status, logs, explain, operations" in help_of("mcp")
    assert "Usage: ess explain [OPTIONS] TENANT person|group|school KEY" in help_of("explain")


def test_shell_completion_is_offered() -> None:
    top = help_of()
    assert "--install-completion" in top and "--show-completion" in top
