"""Swedish personnummer and samordningsnummer: their form, their check digit, and spotting one.

The one place ESS knows what these numbers look like. A personnummer is a date of birth
(``YYYYMMDD``, or ``YYMMDD`` with ``-`` or, past a hundred years, ``+``), a three-digit serial
and a Luhn check digit over the ten digits from ``YYMMDD`` on. A samordningsnummer is the same
with sixty added to the day. Regions give reserve numbers of their own forms to people without
either: with letters (Region Skåne, Inera's national reserve ids), or twelve digits starting
``99`` (Region Stockholm), among others. A number that is neither a personnummer nor a
samordningsnummer in form (a real date, a known century) is taken for such a reserve number and
never judged by its check digit.

Nothing here returns or prints a number: callers learn only whether one is well formed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from itertools import compress
from operator import not_
from typing import cast

IN_TEXT = re.compile(r"(?<!\d)\d{6}(\d{2})?[-+]?\d{4}(?!\d)")
"""A personnummer-like run of digits anywhere in a text (ten or twelve digits, an optional
separator): broad on purpose, for redacting text that came from outside."""

_WHOLE = re.compile(r"\d{6}(?:\d{2})?[-+]?[0-9A-Z]{4}")
_FORM = re.compile(r"(?:(18|19|20)(\d{2})|(\d{2}))(\d{2})(\d{2})([-+]?)(\d{3})(\d)")

# byte tables: an ASCII digit to its value, to its value doubled with its digits summed (the
# Luhn weight two), and a sum to 0 when it is a multiple of ten, else 1
_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))
_NOT_TENFOLD = bytes(int(n % 10 != 0) for n in range(256))


class Form(StrEnum):
    """What a value is, as far as its form tells."""

    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    OTHER = "other"  # a reserve number or anything else: never judged by its check digit


def looks_like(value: str) -> bool:
    """True when the whole value has a personnummer's shape, reserve numbers with letters in
    the last four places included (space around it ignored): a field that holds one must not
    leave ESS."""
    return _WHOLE.fullmatch(value.strip()) is not None


def luhn_digit(digits: str) -> int:
    """The Luhn check digit for a string of digits (weights 2, 1, 2, ... from the left), as
    Skatteverket computes it over ``YYMMDDNNN``."""
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return (10 - total % 10) % 10


def form(value: str) -> Form:
    """Personnummer, samordningsnummer or other, from the value's shape and its date."""
    m = _FORM.fullmatch(value)
    if m is None:
        return Form.OTHER
    century, yy_long, yy_short, month, day, separator, _, _ = m.groups()
    if century is not None and separator == "+":
        return Form.OTHER  # '+' belongs to the ten-digit form only
    day_n, samordning = int(day), False
    if day_n > 60:
        day_n, samordning = day_n - 60, True
    years = (
        (int(century + yy_long),)
        if century is not None
        else (1900 + int(yy_short), 2000 + int(yy_short))
    )
    if not any(_is_date(y, int(month), day_n) for y in years):
        return Form.OTHER
    return Form.SAMORDNINGSNUMMER if samordning else Form.PERSONNUMMER


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def check_digit_ok(value: str) -> bool:
    """True when the value's last digit is the Luhn digit of the nine before it (separator
    and century left out); only meaningful for a value whose :func:`form` is not OTHER."""
    digits = value.replace("-", "").replace("+", "")[-10:]
    return len(digits) == 10 and digits.isdigit() and luhn_digit(digits[:9]) == int(digits[9])


KEPT_WRONG_CHECK = "hmac-sha256-wrong-check:"
"""How what ESS keeps of a number with a wrong check digit begins (``engine.civic_hash``): the
verdict survives the hash, so the finding is made from the snapshot and the cache alike."""


def wrong_check_digit(value: str) -> bool:
    """True for a personnummer or samordningsnummer in form whose check digit is wrong, or
    for what was kept of one; a reserve number or any other form is never flagged."""
    if value.startswith(KEPT_WRONG_CHECK):
        return True
    return form(value) is not Form.OTHER and not check_digit_ok(value)


def wrong_check_digits(values: Sequence[str | None]) -> list[int]:
    """Positions in ``values`` of the numbers :func:`wrong_check_digit` flags (None: no
    number).

    Made for a whole municipality (170,000 numbers) without a Python step per number: the
    twelve-digit ones, the form sources use, have their check sums made in C (see
    :func:`_luhn_failures`), and only a number whose sum fails, or of another form, is looked
    at on its own.
    """
    texts = cast("Sequence[str]", values) if None not in values else [v or "" for v in values]
    n = len(texts)
    joined = "".join(texts)
    if len(joined) == 12 * n and joined.isascii() and joined.isdigit():  # the usual case
        twelve: Sequence[int] = range(n)
        others: Sequence[int] = ()
    else:
        fits = [len(v) == 12 and v.isascii() and v.isdigit() for v in texts]
        twelve = list(compress(range(n), fits))
        others = list(compress(range(n), map(not_, fits)))
        joined = "".join(map(texts.__getitem__, twelve))
    out = [twelve[i] for i in _luhn_failures(joined) if form(texts[twelve[i]]) is not Form.OTHER]
    out.extend(i for i in others if texts[i] and wrong_check_digit(texts[i]))
    out.sort()
    return out


def _luhn_failures(joined_twelves: str) -> list[int]:
    """Which of the twelve-digit numbers joined end to end have a Luhn sum that is not a
    multiple of ten (their places in the row).

    Column by column: the k-th digit of every number is one slice of the joined bytes, turned
    into digit values (doubled and digit-summed at weight two) by a byte table, and read as
    one big integer with a byte per number. The ten columns added up give each number's sum
    in its own byte (at most 90, so no byte carries into the next), and a last table marks
    the sums that are not a multiple of ten.
    """
    count = len(joined_twelves) // 12
    if not count:
        return []
    joined = joined_twelves.encode("ascii")
    total = 0
    for k in range(2, 12):
        column = joined[k::12].translate(_DOUBLED if k % 2 == 0 else _VALUE)
        total += int.from_bytes(column, "big")
    failing = total.to_bytes(count, "big").translate(_NOT_TENFOLD)
    out: list[int] = []
    i = failing.find(1)
    while i != -1:
        out.append(i)
        i = failing.find(1, i + 1)
    return out
