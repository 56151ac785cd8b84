"""Text that is safe to show: control characters made visible, personnummer scrubbed.

Names and messages come from the source system, the target's answers and the operator, so
they may hold terminal escape sequences (ESC), bidirectional overrides (RLO) or NUL. Every
front end shows such a character as visible text (``\\x1b``, ``\\u202e``) instead of letting it
reach a terminal; :func:`visible` is the one rule they share.
"""

from __future__ import annotations

import re
import unicodedata

_KEEP = frozenset("\n\t")
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
"""Unicode categories never shown raw: controls, format characters (bidirectional overrides,
zero-width joiners), surrogates, private use, unassigned, line and paragraph separators."""

# Twelve digits as a date of birth (or a samordningsnummer day, 61-91) plus four digits, with an
# optional '-' or '+' after the date; and the ten-digit form, which needs its separator so that
# ordinary ten-digit numbers survive. A digit on either side, a '-' before, or a '-' and a hex
# digit after rule out parts of longer numbers and of UUIDs; a letter before does not, so
# "pnr200501021234" is caught.
_DAY = r"(?:0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])"
_MONTH = r"(?:0[1-9]|1[0-2])"
PERSONNUMMER = re.compile(
    rf"(?<![\d-])(?:(?:19|20)\d{{2}}{_MONTH}{_DAY}[-+]?\d{{4}}|\d{{2}}{_MONTH}{_DAY}[-+]\d{{4}})"
    r"(?!\d)(?!-[0-9A-Fa-f])"
)
REDACTED = "[redacted]"


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _hidden(char: str) -> bool:
    return char not in _KEEP and unicodedata.category(char) in _HIDDEN


def visible(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control or format character written out (ESC as ``\\x1b``).

    Idempotent: what it writes is plain text. Newlines and tabs stay unless ``newlines`` is
    False (a table cell or a one-line label)."""
    if text.isprintable():  # the common case: nothing to do
        return text
    out = []
    for char in text:
        if _hidden(char) or (not newlines and char in _KEEP):
            out.append(_escaped(char))
        else:
            out.append(char)
    return "".join(out)


def scrub_personnummer(text: str) -> str:
    """``text`` with every personnummer-like number replaced by ``[redacted]``."""
    return PERSONNUMMER.sub(REDACTED, text)


def visible_json(document: str) -> str:
    """A JSON document with every hidden character inside its strings written as a ``\\uXXXX``
    escape: the same data once decoded, but nothing a terminal acts on. (The encoder already
    escapes the C0 controls; this covers DEL, C1, bidirectional overrides and the like.)"""
    if document.isprintable():
        return document
    out = []
    for char in document:
        if char != "\n" and _hidden(char):
            code = ord(char)
            if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)
