"""What every ``ess sandbox NAME`` command does around its own sandbox: settings from the
command line's options, then serve until cancelled, announcing as JSON or as a banner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from engine.plugins import SandboxOptions

from .server import Sandbox, serve_until_cancelled
from .settings import KitSettings, apply_changes, changes_from_strings

S = TypeVar("S", bound=KitSettings)


class JsonInfo(Protocol):
    def to_json(self) -> str: ...


InfoT = TypeVar("InfoT", bound=JsonInfo)


def settings_from_options(cls: type[S], options: SandboxOptions) -> S:
    """``cls`` with the common options (latency, fault rate, seed), then ``options.extra`` by
    name; an unknown name or a bad value raises SettingsError before anything starts."""
    settings = cls(latency_ms=options.latency_ms, fault_rate=options.fault_rate, seed=options.seed)
    apply_changes(settings, changes_from_strings(cls, options.extra), running=False)
    return settings


async def serve_announced(
    sandbox: Sandbox[InfoT],
    options: SandboxOptions,
    emit: Callable[[str], None],
    banner: Callable[[InfoT], str],
) -> None:
    """Start ``sandbox``, emit its info (JSON with ``--json``, else ``banner``), serve until
    cancelled, then stop."""

    def announce(info: InfoT) -> None:
        emit(info.to_json() if options.json_output else banner(info))

    await serve_until_cancelled(sandbox.start, sandbox.stop, announce)
