"""Finds adapters through entry points, so the engine never imports them.

A new school service is a new folder under ``adapters/`` and one line in pyproject.toml.
Groups: ``ess.sources``, ``ess.targets`` (classes the engine instantiates per tenant),
``ess.sandboxes`` (local emulators behind ``ess sandbox NAME``) and ``ess.samples``
(data generators behind ``ess sample``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.target import TargetBase

GROUPS = ("ess.sources", "ess.targets", "ess.sandboxes", "ess.samples", "ess.demo")


class PluginError(LookupError):
    """A named adapter is not installed, or its entry point does not load."""


def names(group: str) -> list[str]:
    """Installed plugin names of one group, sorted."""
    return sorted(ep.name for ep in entry_points(group=group))


def load(group: str, name: str) -> Any:
    """Load one plugin object; a clear error names what is installed instead."""
    for ep in entry_points(group=group):
        if ep.name == name:
            try:
                return ep.load()
            except Exception as exc:  # an adapter that cannot import is a deployment problem
                raise PluginError(f"{group} plugin {name!r} failed to load: {exc}") from exc
    available = ", ".join(names(group)) or "none"
    raise PluginError(f"no {group} plugin named {name!r} (installed: {available})")


def target_class(name: str) -> type[TargetBase]:
    """The ``ess.targets`` plugin ``name``: a subclass of :class:`TargetBase`, or a clear error."""
    cls = load("ess.targets", name)
    if not (isinstance(cls, type) and issubclass(cls, TargetBase)):
        raise PluginError(
            f"ess.targets plugin {name!r} is not a target: "
            "it must subclass engine.target.TargetBase"
        )
    return cls


@dataclass(frozen=True)
class SandboxOptions:
    """What ``ess sandbox NAME`` passes to a sandbox; each sandbox uses what applies to it."""

    host: str = "127.0.0.1"
    port: int = 0
    size: str = "small"
    seed: int = 1
    json_output: bool = False
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    state_dir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class SandboxCommand(Protocol):
    """A local emulator of an external system, served until cancelled."""

    name: str
    summary: str

    async def serve(self, options: SandboxOptions, emit: Callable[[str], None]) -> None:
        """Start, call ``emit`` with the start banner (one JSON line when json_output), run
        until cancelled."""
        ...


@dataclass(frozen=True)
class SampleRequest:
    """What ``ess sample generate`` and ``ess sample advance`` ask a generator for."""

    out: Path
    size: str = "small"
    seed: int = 1
    as_of: str | None = None  # ISO date; None means today
    advance: str | None = None  # None to generate; "term" or "year" to advance ``out`` in place


@runtime_checkable
class SampleCommand(Protocol):
    """A deterministic data generator in a source's own format."""

    name: str
    summary: str

    def run(self, request: SampleRequest) -> dict[str, int]:
        """Write (or advance) the sample; returns counts per record type for the summary."""
        ...


AsyncFactory = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class DemoOptions:
    """What ``ess demo`` asks of each sandbox it starts."""

    workdir: Path
    size: str = "small"
    seed: int = 1
    latency_ms: float = 0.0


@runtime_checkable
class DemoPart(Protocol):
    """One running sandbox in the demo, and the ess.toml table that points at it.

    ``settings()`` writes any secret the table needs into a file under the demo's folder and
    refers to it (``file:...``), so the demo's config holds no secret either.
    """

    name: str
    role: str  # "source" or "target"

    def settings(self) -> dict[str, Any]: ...

    def describe(self) -> str: ...

    def advance(self, kind: str) -> dict[str, int]:
        """Sources: move the data on a term or a year; returns what changed per type."""
        ...

    def summary(self) -> dict[str, int]:
        """What the sandbox holds now, per type."""
        ...

    def stop(self) -> None: ...


DemoStarter = Callable[[DemoOptions], DemoPart]
"""Entry point group ``ess.demo``: starts a sandbox for the demo and returns its part."""
