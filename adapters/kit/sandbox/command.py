"""What every ``ess sandbox NAME`` command does around its own sandbox: settings from the
command line's options, then serve until cancelled, announcing as JSON or as a banner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from engine.plugins import SandboxOptions

from .municipality import MunicipalitySandbox
from .server import ConfiguredSandbox, Sandbox, serve_until_cancelled
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


def rows_banner(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """The human start banner: ``title``, one aligned line a row (label, value), and how to
    stop."""
    lines = [f"  {label:<14} {value}" for label, value in rows]
    return "\n".join([title, *lines, "Stop with Ctrl+C."])


class ConfiguredSandboxCommand(Generic[InfoT, S]):
    """An ``engine.plugins.SandboxCommand`` serving a :class:`ConfiguredSandbox` of
    ``sandbox_type``: its settings from the options, the options' host, port and state
    folder, and ``banner`` for the human announcement."""

    def __init__(
        self,
        name: str,
        summary: str,
        sandbox_type: type[ConfiguredSandbox[InfoT, S]],
        banner: Callable[[InfoT], str],
    ) -> None:
        self.name = name
        self.summary = summary
        self.sandbox_type = sandbox_type
        self.banner = banner

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        kind = self.sandbox_type
        sandbox = kind(
            host=options.host,
            port=options.port,
            settings=settings_from_options(kind.settings_type, options),
            workdir=options.state_dir,
        )
        await serve_announced(sandbox, options, emit, self.banner)


class MunicipalitySandboxCommand(Generic[InfoT, S]):
    """:class:`ConfiguredSandboxCommand` for a source sandbox: the sandbox also serves the
    municipality of the options' ``size`` and ``seed``, and ``banner`` names them."""

    def __init__(
        self,
        name: str,
        summary: str,
        sandbox_type: type[MunicipalitySandbox[InfoT, S]],
        banner: Callable[[InfoT, str, int], str],
    ) -> None:
        self.name = name
        self.summary = summary
        self.sandbox_type = sandbox_type
        self.banner = banner

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        kind = self.sandbox_type
        sandbox = kind(
            size=options.size,
            seed=options.seed,
            host=options.host,
            port=options.port,
            settings=settings_from_options(kind.settings_type, options),
            workdir=options.state_dir,
        )
        await serve_announced(
            sandbox, options, emit, lambda info: self.banner(info, options.size, options.seed)
        )
