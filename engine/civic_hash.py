"""Personnummer as keyed hashes: what ESS keeps of a civic number at rest.

A personnummer is needed only to match a person to themselves (in a later read, a data subject
request). An HMAC-SHA256 of it under a per-installation key (``[privacy] civic_key``, a secret
reference, never in the journal) matches just as well, and a copied journal without the key is
no list of personnummer: the ten thousand birth dates of a school make an unkeyed hash easy to
reverse, a keyed one is not. Without a key ESS keeps no civic number at all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.display import PERSONNUMMER
from engine.personnummer import KEPT_WRONG_CHECK, looks_like, wrong_check_digit
from engine.secrets import Secret

PREFIX = "hmac-sha256:"
"""Marks a stored value as a keyed hash, so that hashing is idempotent across reads; a number
whose check digit is wrong is kept as ``KEPT_WRONG_CHECK`` + its hash, so that validation still
finds it (the one thing about the number the hash keeps)."""

CivicHash = Callable[[str], str | None]
"""A personnummer to what may be kept of it: its keyed hash, or None (nothing)."""


def drop(civic: str) -> str | None:
    """Keep nothing (the rule when no key is configured) but a wrong check digit's verdict."""
    if civic.startswith(KEPT_WRONG_CHECK) or wrong_check_digit(civic):
        return KEPT_WRONG_CHECK
    return None


def normalised(civic: str) -> str:
    """The digits of a personnummer in the 12-digit form, so that ``YYMMDD-NNNN``,
    ``YYYYMMDDNNNN`` and ``YYYYMMDD-NNNN`` of one person hash alike."""
    digits = "".join(c for c in civic if c.isdigit())
    if len(digits) == 10:
        # the ten-digit form: '+' marks a person of 100 years or more
        century = "18" if "+" in civic else ("19" if int(digits[:2]) > 30 else "20")
        digits = century + digits
    return digits


def is_hashed(value: str) -> bool:
    return value.startswith(PREFIX) or value.startswith(KEPT_WRONG_CHECK)


@dataclass(frozen=True)
class KeyedCivicHash:
    """HMAC-SHA256 of a personnummer's normalised digits under the installation's key."""

    key: Secret

    def __call__(self, civic: str) -> str:
        if is_hashed(civic):
            return civic
        mac = hmac.new(self.key.reveal().encode(), normalised(civic).encode(), hashlib.sha256)
        return (KEPT_WRONG_CHECK if wrong_check_digit(civic) else PREFIX) + mac.hexdigest()


class KeyOnFirstUse:
    """A :class:`KeyedCivicHash` whose key is resolved when it is first needed: opening the
    journal for a command that never meets a personnummer must not need the key."""

    def __init__(self, resolve: Callable[[], KeyedCivicHash]) -> None:
        self._resolve = resolve
        self._hash: KeyedCivicHash | None = None

    def __call__(self, civic: str) -> str:
        if self._hash is None:
            self._hash = self._resolve()
        return self._hash(civic)


def hashed_in_json(value: Any, civic_hash: CivicHash) -> tuple[Any, bool]:
    """``value`` (decoded JSON) with every string that holds a personnummer replaced by its
    hash (or null without a key), and whether anything was replaced. A string that is more than
    a personnummer loses the whole string: a name or note holding one is not worth keeping."""
    if isinstance(value, str):
        if is_hashed(value):
            return value, False
        if looks_like(value):
            return civic_hash(value.strip()), True
        found = PERSONNUMMER.search(value)
        if found is None:
            return value, False
        if found.group(0) == value.strip():
            return civic_hash(found.group(0)), True
        return None, True
    if isinstance(value, list):
        changed = False
        out: list[Any] = []
        for item in value:
            new, hit = hashed_in_json(item, civic_hash)
            out.append(new)
            changed = changed or hit
        return (out, True) if changed else (value, False)
    if isinstance(value, dict):
        changed = False
        obj: dict[str, Any] = {}
        for key, item in value.items():
            new, hit = hashed_in_json(item, civic_hash)
            obj[key] = new
            changed = changed or hit
        return (obj, True) if changed else (value, False)
    return value, False
