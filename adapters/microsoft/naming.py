"""Names for Entra objects: account names from templates, class names with the school year.

A Swedish school year runs from 1 July to 30 June; a class named with its year ("7A 2024/25",
nickname "c-2425-…") never takes over last year's team when the source reuses the name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from engine.model import fingerprint

_LOCAL_OK = re.compile(r"[^a-z0-9._-]+")
_NICK_OK = re.compile(r"[^a-z0-9_-]+")
_DOTS = re.compile(r"\.{2,}")
_HEX8 = re.compile(r"[0-9a-f]{8}")
_NOT_HEX = re.compile(r"[^0-9a-f]")
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})

MAX_LOCAL = 64
MAX_NICKNAME = 64


def ascii_fold(text: str) -> str:
    """Lower-case ASCII with accents dropped (Åsa Öberg -> asa oberg).

    Most names are ASCII already and only need lower-casing; the rest are few (a municipality
    has a few thousand distinct names among hundreds of thousands of people) and cached, as
    folding them is the costliest step of naming an account.
    """
    if text.isascii():
        return text.lower()
    return _fold(text)


@lru_cache(maxsize=1 << 16)
def _fold(text: str) -> str:
    text = text.lower().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c) and ord(c) < 128)


@lru_cache(maxsize=1 << 16)
def name_part(text: str | None) -> str:
    """One name as it may appear in an account name: folded, spaces to dashes, no punctuation."""
    if not text:
        return ""
    folded = ascii_fold(text).strip().replace(" ", "-")
    return _LOCAL_OK.sub("", folded).strip(".-_")


def clean_local(local: str) -> str:
    """A userPrincipalName local part Entra accepts: [a-z0-9._-], no leading/trailing dot."""
    local = _DOTS.sub(".", _LOCAL_OK.sub("", ascii_fold(local))).strip(".")
    return local[:MAX_LOCAL].rstrip(".")


def clean_nickname(text: str) -> str:
    """A mailNickname Entra accepts: lower-case [a-z0-9_-], at most 64 characters."""
    nick = _NICK_OK.sub("", ascii_fold(text).replace(" ", "-").replace(".", "-"))
    return nick[:MAX_NICKNAME].strip("-_") or "x" + fingerprint(text)[:8]


def nickname_of_local(local: str) -> str:
    """The mailNickname of an account name that :func:`clean_local` made (dots become dashes);
    quicker than :func:`clean_nickname`, which it equals on such names."""
    return local.replace(".", "-")[:MAX_NICKNAME].strip("-_") or clean_nickname(local)


def short_id(source_id: str) -> str:
    """Eight characters that identify a source id: its first hex digits, else a hash."""
    head = source_id[:8].lower()
    if _HEX8.fullmatch(head):  # a UUID: decided without rewriting the whole id
        return head
    hexdigits = _NOT_HEX.sub("", source_id.lower())
    return hexdigits[:8] if len(hexdigits) >= 8 else fingerprint(source_id)[:8]


def pseudonym(source_id: str) -> str:
    """A stable pseudonymous tag for a protected person (no name, no source id)."""
    return fingerprint("ess-mask", source_id)[:8]


@dataclass(frozen=True)
class SchoolYear:
    """The school year a day belongs to (1 July - 30 June) and its half (HT / VT)."""

    start_year: int
    autumn: bool

    @classmethod
    def of(cls, day: date) -> SchoolYear:
        if day.month >= 7:
            return cls(day.year, True)
        return cls(day.year - 1, False)

    @property
    def label(self) -> str:
        """2024/25"""
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def short(self) -> str:
        """2425"""
        return f"{self.start_year % 100:02d}{(self.start_year + 1) % 100:02d}"

    @property
    def term(self) -> str:
        """HT24 or VT25"""
        if self.autumn:
            return f"HT{self.start_year % 100:02d}"
        return f"VT{(self.start_year + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.start_year, 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.start_year + 1, 6, 30)


def render(template: str, values: dict[str, str]) -> str:
    """Fill a template validated by the config model; collapses doubled spaces."""
    return " ".join(template.format_map(values).split())


def unique_names(wanted: dict[str, str], sep: str = "") -> dict[str, str]:
    """Resolve collisions among account local parts: the lowest source id keeps the name, the
    others get 2, 3, ... appended, skipping names another record wants as they are.

    Deterministic for one snapshot; creates never rename an existing account (the
    userPrincipalName is written on create only), so a later namesake never moves anyone.
    """
    lowered = [name.lower() for name in wanted.values()]
    counts = Counter(lowered)
    out = dict(wanted)  # most names are nobody else's
    if len(counts) == len(lowered):
        return out
    by_name: dict[str, list[str]] = {}
    for key, name in zip(wanted, lowered, strict=True):
        if counts[name] > 1:
            by_name.setdefault(name, []).append(key)
    taken = set(counts)  # every name's first holder keeps it
    for name, keys in sorted(by_name.items()):
        n = 2  # counts on from the last number given: a common name costs linear, not square
        for key in sorted(keys)[1:]:
            while f"{name}{sep}{n}" in taken:
                n += 1
            out[key] = f"{wanted[key]}{sep}{n}"
            taken.add(f"{name}{sep}{n}")
            n += 1
    return out
