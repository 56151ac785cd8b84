"""Exit codes and the one place where errors become a message and an exit code.

Scripts rely on the codes (docs/cli.md lists them). A user error prints one clear line and no
traceback; an unexpected error prints one line and how to see the traceback (``ESS_DEBUG=1``).
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any

import typer
from typer.core import TyperGroup

from engine.config import ConfigError, ConfigProblem
from engine.display import visible
from engine.ops import (
    Busy,
    ConfigurationError,
    JournalError,
    JournalWriteError,
    LeaseLost,
    NotFound,
    OpsError,
    PolicyRefused,
    Unreachable,
)
from engine.plugins import PluginError
from engine.secrets import SecretError

DEBUG_ENV = "ESS_DEBUG"


class ExitCode(IntEnum):
    """What ``ess`` exits with; a stable contract for scripts."""

    OK = 0
    PARTIAL = 1  # the run finished with failed items, or a check found problems
    USAGE = 2  # usage or configuration error: bad ess.toml, unknown tenant or run
    REFUSED = 3  # refused by policy: read-only, support tier, missing elevation
    BUSY = 4  # another run holds the tenant's lease
    HELD = 5  # the plan is held for approval
    UNREACHABLE = 6  # source or target unreachable, or its login failed


class CliError(Exception):
    """A user-facing failure raised by a command: the message is shown as is."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


def format_problem(path: object, problem: ConfigProblem) -> str:
    """``path:line: key: message``, the form editors and CI logs understand; a key as written
    in the file may hold any character, and is shown with its control characters written out."""
    where = f"{path}:{problem.line}" if problem.line else f"{path}"
    return visible(f"{where}: {problem.key}: {problem.message}", newlines=False)


def describe(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and message for an error; unexpected errors get a hint, not a traceback."""
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, ConfigError):
        lines = [format_problem(exc.path, p) for p in exc.problems]
        return ExitCode.USAGE, "\n".join(lines) or f"{exc.path}: the configuration cannot be used"
    if isinstance(exc, PolicyRefused):
        return ExitCode.REFUSED, f"refused: {exc}"
    if isinstance(exc, Busy):
        return ExitCode.BUSY, f"busy: {exc}"
    if isinstance(exc, NotFound):
        return ExitCode.USAGE, f"not found: {exc}"
    if isinstance(exc, ConfigurationError):
        return ExitCode.USAGE, f"configuration: {exc}"
    if isinstance(exc, Unreachable):
        return ExitCode.UNREACHABLE, f"unreachable: {exc}"
    if isinstance(exc, OpsError):
        return ExitCode.PARTIAL, f"error: {exc}"
    if isinstance(exc, PluginError | SecretError):
        return ExitCode.USAGE, f"error: {exc}"
    if isinstance(exc, LeaseLost):
        return ExitCode.BUSY, f"busy: {exc}"
    if isinstance(exc, JournalWriteError):
        return ExitCode.PARTIAL, f"journal: {exc}"
    if isinstance(exc, JournalError):
        return ExitCode.USAGE, f"journal: {exc}"
    name = type(exc).__name__
    return ExitCode.PARTIAL, (
        f"unexpected error ({name}): {exc} (rerun with {DEBUG_ENV}=1 to see the traceback)"
    )


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false", "no")


class EssGroup(TyperGroup):
    """The top-level command group; turns every error of every command into an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's click Context; its module is private
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as exc:
            if debug_enabled() and not isinstance(exc, CliError):
                raise
            code, message = describe(exc)
            typer.echo(visible(message), err=True)
            raise typer.Exit(int(code)) from None
