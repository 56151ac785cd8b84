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
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from itertools import repeat
from operator import itemgetter

IN_TEXT = re.compile(r"(?<!\d)\d{6}(\d{2})?[-+]?\d{4}(?!\d)")
"""A personnummer-like run of digits anywhere in a text (ten or twelve digits, an optional
separator): broad on purpose, for redacting text that came from outside."""

_WHOLE = re.compile(r"\d{6}(?:\d{2})?[-+]?[0-9A-Z]{4}")
_FORM = re.compile(r"(?:(18|19|20)(\d{2})|(\d{2}))(\d{2})(\d{2})([-+]?)(\d{3})(\d)")

_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")  # a digit doubled, its digits summed
# of a twelve-digit number, the digits at weight two (the first of YY, MM, DD, and the first
# and last of the serial) and at weight one (the rest, the check digit among them)
_AT_WEIGHT_TWO = itemgetter(slice(2, None, 2))
_AT_WEIGHT_ONE = itemgetter(slice(3, None, 2))


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


def wrong_check_digit(value: str) -> bool:
    """True for a personnummer or samordningsnummer in form whose check digit is wrong; a
    reserve number or any other form is never flagged."""
    return form(value) is not Form.OTHER and not check_digit_ok(value)


def wrong_check_digits(values: Sequence[str]) -> list[int]:
    """Positions in ``values`` of the numbers :func:`wrong_check_digit` flags.

    Made for a whole municipality (170,000 numbers): the twelve-digit ones, the form sources
    use, have their check digits summed in C (a digit at weight two doubled through a byte
    table), and only a number whose sum fails is looked at more closely.
    """
    joined = "".join(values)
    rest: Iterable[int] = ()
    if len(joined) == 12 * len(values) and joined.isdigit():  # all twelve digits: the usual
        suspects = _failing(values, range(len(values)))
    else:
        twelve = [i for i, v in enumerate(values) if len(v) == 12 and v.isdigit()]
        suspects = _failing([values[i] for i in twelve], twelve)
        chosen = set(twelve)
        rest = (i for i in range(len(values)) if i not in chosen)
    out = [i for i in suspects if form(values[i]) is not Form.OTHER]
    out.extend(i for i in rest if wrong_check_digit(values[i]))
    out.sort()
    return out


def _failing(twelves: Sequence[str], positions: Sequence[int]) -> list[int]:
    """The positions of the twelve-digit numbers whose Luhn sum is not a multiple of ten."""
    encoded = list(map(str.encode, twelves))
    doubled = map(sum, map(bytes.translate, map(_AT_WEIGHT_TWO, encoded), repeat(_DOUBLED)))
    single = map(sum, map(_AT_WEIGHT_ONE, encoded))
    # ten ASCII digits add 480 to a sum: a multiple of ten, so the codes sum as the digits do
    return [pos for pos, a, b in zip(positions, doubled, single, strict=True) if (a + b) % 10]
