"""A sandbox's runtime settings: changed while it runs, validated all or nothing.

Each sandbox keeps its settings in a mutable dataclass (deriving from :class:`KitSettings`), so
that tests and ``POST /_sandbox/settings`` can change them and the next request sees the change.
A change names fields and values; each value is checked against the field's type (a bool, an
integer, a number, a string, a list of strings), numbers may not be negative unless the field is
signed, and the sandbox's own ``check`` sees the whole result. One bad field refuses the whole
change with a message naming it; nothing is half applied.

The time scale
--------------
``time_scale`` is one factor that multiplies every published limit's window and every delay a
sandbox adds: throttling windows (so the published *count* per window stays, and the rate is
divided by the scale), Retry-After, injected latency, the hang of a timeout fault and the
service's own delays (Graph's propagation and Teams provisioning delays). At 0.01 a Graph window
of 150 s lasts 1.5 s and a Retry-After of 30 s is sent as 0.3, so a benchmark of the medium
municipality runs in minutes while every limit is still reached in the same shape. Token and
delta-token lifetimes are validity periods, not limits, and are not scaled.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .faults import FAULT_KINDS


class SettingsError(ValueError):
    """A settings change names an unknown field or carries a value of the wrong type."""


@dataclass
class KitSettings:
    """The settings every sandbox has. Subclasses add their own fields after these."""

    KNOWN_FAULTS: ClassVar[tuple[str, ...]] = FAULT_KINDS
    FIXED: ClassVar[frozenset[str]] = frozenset()  # fields that cannot change while it runs

    latency_ms: float = 0.0
    fault_rate: float = 0.0  # share of requests answered with an injected fault
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    timeout_hang_s: float = 30.0  # how long a ``timeout`` fault keeps the client waiting
    seed: int = 0  # for the fault RNG, so runs are repeatable
    time_scale: float = 1.0  # multiplies every published window and delay; see the module doc

    def check(self) -> None:
        """Raise SettingsError when the settings as a whole cannot be served."""
        bad = [k for k in self.fault_kinds if k not in self.KNOWN_FAULTS]
        if bad:
            raise SettingsError(f"fault_kinds must be a list drawn from {list(self.KNOWN_FAULTS)}")
        if not 0 <= self.fault_rate <= 1:
            raise SettingsError("setting 'fault_rate' must be between 0 and 1")
        if self.time_scale <= 0:
            raise SettingsError("setting 'time_scale' must be above 0")

    def scaled(self, seconds: float) -> float:
        """``seconds`` as the sandbox applies them: published seconds times the time scale."""
        return seconds * self.time_scale

    @property
    def latency_s(self) -> float:
        return self.scaled(self.latency_ms / 1000.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (tuples become lists)."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in dataclasses.asdict(self).items()
        }


SIGNED = frozenset({"seed"})


def _kind(cls: type, name: str) -> type:
    """The plain type of field ``name``: bool, int, float, str or tuple."""
    hints = typing.get_type_hints(cls)
    hint = hints[name]
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return hint if isinstance(hint, type) else str


def _typed(name: str, kind: type, value: Any) -> Any:
    if kind is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"setting {name!r} must be a list of names, got {value!r}")
        return tuple(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"setting {name!r} must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise SettingsError(f"setting {name!r} must be a string, got {value!r}")
        return value
    if isinstance(value, bool):
        raise SettingsError(f"setting {name!r} must be a number, got {value!r}")
    if kind is int:
        if not isinstance(value, int):
            raise SettingsError(f"setting {name!r} must be an integer, got {value!r}")
        return value
    if not isinstance(value, int | float):
        raise SettingsError(f"setting {name!r} must be a number, got {value!r}")
    return float(value)


def apply_changes(
    settings: KitSettings, changes: Mapping[str, Any], *, running: bool = True
) -> None:
    """Apply ``changes`` to ``settings`` in place, all or nothing.

    Fields in ``FIXED`` cannot change while the sandbox runs (``running``); the settings' own
    ``check`` (a subclass adds its rules) judges the whole result before anything is set."""
    cls = type(settings)
    known = {f.name for f in dataclasses.fields(settings)}
    frozen = settings.FIXED if running else frozenset()
    staged: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in known:
            raise SettingsError(f"unknown setting {name!r} (known: {', '.join(sorted(known))})")
        if name in frozen:
            raise SettingsError(f"setting {name!r} is fixed once the sandbox has started")
        typed = _typed(name, _kind(cls, name), value)
        negative = isinstance(typed, int | float) and not isinstance(typed, bool) and typed < 0
        if negative and name not in SIGNED:
            raise SettingsError(f"setting {name!r} must not be negative")
        staged[name] = typed
    try:
        candidate = dataclasses.replace(settings, **staged)  # runs __post_init__ too
        candidate.check()
    except SettingsError:
        raise
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    for name, value in staged.items():
        setattr(settings, name, value)


def changes_from_strings(cls: type[KitSettings], extra: Mapping[str, str]) -> dict[str, Any]:
    """``name=value`` strings from the command line, typed like the fields of ``cls``.

    A list is comma separated; a bool is true/false (also 1/0, yes/no). Raises SettingsError
    naming an unknown setting or a value that does not parse."""
    names = [f.name for f in dataclasses.fields(cls)]
    changes: dict[str, Any] = {}
    for name, text in extra.items():
        if name not in names:
            raise SettingsError(f"unknown sandbox setting {name!r} (known: {', '.join(names)})")
        kind = _kind(cls, name)
        if kind is tuple:
            changes[name] = [part.strip() for part in text.split(",") if part.strip()]
        elif kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise SettingsError(f"sandbox setting {name!r} needs true or false, got {text!r}")
            changes[name] = lowered in ("true", "1", "yes")
        elif kind is str:
            changes[name] = text
        else:
            try:
                changes[name] = int(text) if kind is int else float(text)
            except ValueError:
                raise SettingsError(
                    f"sandbox setting {name!r} needs a number, got {text!r}"
                ) from None
    return changes
