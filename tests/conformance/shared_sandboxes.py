"""The sandboxes the target harnesses share: one of each name serves the whole test session,
started on first use and stopped once (the conformance conftest stops them all at the end), so
that each harness says only how its sandbox is made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, cast


class Sandbox(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=Sandbox)

_running: dict[str, Sandbox] = {}


def shared(name: str, make: Callable[[], S]) -> S:
    """The session's sandbox called ``name``, made by ``make`` and started on first use."""
    if name not in _running:
        sandbox = make()
        sandbox.start()
        _running[name] = sandbox
    return cast(S, _running[name])


def stop(name: str) -> None:
    """Stop the sandbox called ``name`` if it runs; the next :func:`shared` starts another."""
    sandbox = _running.pop(name, None)
    if sandbox is not None:
        sandbox.stop()


def stop_all() -> None:
    for name in list(_running):
        stop(name)
