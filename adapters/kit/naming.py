"""Naming helpers every target shares: folding names to ASCII, filling templates, making
names unique in linear time, short ids and pseudonyms for protected persons.

What a service accepts in a name (Entra's mailNickname, Google's primaryEmail) stays with its
adapter; these are the steps before that.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from functools import lru_cache

from pydantic import AfterValidator

from engine.model import fingerprint

_NAME_OK = re.compile(r"[^a-z0-9._-]+")
_HEX8 = re.compile(r"[0-9a-f]{8}")
_NOT_HEX = re.compile(r"[^0-9a-f]")
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})


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
    return _NAME_OK.sub("", folded).strip(".-_")


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


def template_fields(template: str) -> set[str]:
    """Placeholder names used in a ``str.format`` template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_template(value: str, allowed: frozenset[str], what: str) -> str:
    """``value`` when it is a template using only ``allowed`` placeholders; else a ValueError
    naming the setting and the placeholders it may use."""
    try:
        used = template_fields(value)
    except ValueError as exc:
        raise ValueError(f"{what} {value!r} is not a valid template: {exc}") from None
    unknown = used - allowed
    if unknown:
        raise ValueError(
            f"{what} {value!r} uses unknown placeholder(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(allowed))}"
        )
    return value


def checked_template(
    allowed: frozenset[str], what: str, *, address: bool = False
) -> AfterValidator:
    """The check of a template setting in a config model, used as
    ``Annotated[str, checked_template(FIELDS, "name_template")]``: only ``allowed``
    placeholders (see :func:`check_template`), and with ``address`` an ``@domain`` part."""

    def check(value: str) -> str:
        check_template(value, allowed, what)
        if address and "@" not in value:
            raise ValueError(f"{what} {value!r} has no '@domain' part")
        return value

    return AfterValidator(check)
