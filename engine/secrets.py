"""Secret references (``env:NAME``, ``file:PATH``): config says where a secret is, not what.

Resolved values are wrapped in :class:`Secret`, whose ``str`` and ``repr`` never show the value,
so a secret cannot reach a log line, the journal or a screen by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SecretError(ValueError):
    """A secret reference that is malformed or does not resolve; names the reference only."""


@dataclass(frozen=True)
class Secret:
    """A resolved secret. Call ``reveal()`` at the one place it is sent."""

    reference: str
    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return f"<secret {self.reference}>"

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"


def check_reference(ref: str) -> str | None:
    """Return a problem with the reference's form, or None when it is well formed."""
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in ("env", "file") or not rest:
        return "a secret must be a reference 'env:NAME' or 'file:PATH', not a literal value"
    return None


@dataclass(frozen=True)
class SecretResolver:
    """Resolves references against the environment and files relative to ``base_dir``."""

    base_dir: Path = Path(".")
    environ: dict[str, str] | None = None

    def resolve(self, ref: str) -> Secret:
        problem = check_reference(ref)
        if problem:
            raise SecretError(problem)
        scheme, _, rest = ref.partition(":")
        if scheme == "env":
            env = os.environ if self.environ is None else self.environ
            if rest not in env:
                raise SecretError(f"environment variable {rest} (from {ref!r}) is not set")
            return Secret(ref, env[rest])
        path = Path(rest).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            return Secret(ref, path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise SecretError(
                f"cannot read secret file {path} (from {ref!r}): {exc.strerror}"
            ) from exc
        except UnicodeDecodeError:
            raise SecretError(
                f"secret file {path} (from {ref!r}) is not UTF-8 text; it must hold the secret "
                "as text"
            ) from None
