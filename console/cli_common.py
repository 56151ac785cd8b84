"""What every ``ess`` command shares: the global options, opening the ops facade, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from console.render import SafeConsole
from engine.display import visible_json
from engine.ops import Ops, os_actor
from engine.views import to_dict

T = TypeVar("T")


def default_actor(note: str | None = None) -> str:
    """``cli:<OS user>``: every action is audited under the account that ran it; ``--actor``
    only adds a note."""
    return os_actor("cli", note)


@dataclass(frozen=True)
class CliState:
    """The global options, passed to every command through the click context."""

    config: Path
    actor: str


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if isinstance(obj, CliState):
        return obj
    return CliState(config=Path("ess.toml"), actor=default_actor())


def with_ops(
    ctx: typer.Context, work: Callable[[Ops], Awaitable[T]], *, read_only: bool = False
) -> T:
    """Open the ops facade for this configuration and actor, run ``work``, close it."""
    st = state(ctx)

    async def go() -> T:
        ops = await Ops.open(st.config, actor=st.actor, read_only=read_only)
        async with ops:
            return await work(ops)

    return asyncio.run(go())


def out() -> Console:
    """Rich console on stdout (made per call so test runners' captured streams are used); it
    shows data as written, never as markup or raw control characters (:class:`SafeConsole`)."""
    return SafeConsole(highlight=False, soft_wrap=False)


def err() -> Console:
    return SafeConsole(stderr=True, highlight=False)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return to_dict(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def emit_json(value: Any) -> None:
    """One JSON document on stdout and nothing else, for scripts."""
    document = json.dumps(_jsonable(value), ensure_ascii=False, indent=2, default=str)
    typer.echo(visible_json(document))
