"""Synthetic people: names, fake personnummer, unique ePPNs, signatures.

Everything comes from one ``random.Random`` so the same seed gives the same people. The
personnummer are random numbers of the right form (valid date, Luhn check digit, sex digit
matching the given name); they are not checked against any register.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from adapters.ss12000.sample import names
from engine.personnummer import check_digit_ok, luhn_digit

PROTECTED_SHARE = 0.005  # "Skyddad folkbokföring"
CONFIDENTIAL_SHARE = 0.01  # "Sekretessmarkering"
FOREIGN_SHARE_PUPILS = 0.16
FOREIGN_SHARE_STAFF = 0.08
MIDDLE_NAME_SHARE = 0.06


def luhn_valid(civic_no: str) -> bool:
    """True when a 12-digit personnummer's last digit checks out."""
    return len(civic_no) == 12 and civic_no.isdigit() and check_digit_ok(civic_no)


_ASCII_EXTRA = str.maketrans({"ø": "o", "æ": "ae", "đ": "d", "ß": "ss", "ł": "l", "ı": "i"})


def ascii_slug(name: str) -> str:
    """Lower-case ASCII for account names: ``Åsa-Märta`` -> ``asa-marta``."""
    folded = unicodedata.normalize("NFKD", name.lower().translate(_ASCII_EXTRA))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c == "-"))


class _Weighted:
    """Picks from a list with falling weights (earlier names are more common)."""

    def __init__(self, items: Sequence[str], offset: float = 8.0) -> None:
        self.items = items
        self.cum = list(accumulate(1.0 / (i + offset) for i in range(len(items))))

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


_GIRLS, _BOYS = _Weighted(names.GIRLS), _Weighted(names.BOYS)
_WOMEN, _MEN = _Weighted(names.WOMEN), _Weighted(names.MEN)
_F_GIRLS, _F_BOYS = _Weighted(names.FOREIGN_GIRLS), _Weighted(names.FOREIGN_BOYS)
_FAMILY, _F_FAMILY = _Weighted(names.FAMILY, 4.0), _Weighted(names.FOREIGN_FAMILY, 4.0)


@dataclass(frozen=True, slots=True)
class Identity:
    """The personal fields of one synthetic person."""

    given: str
    middle: str | None
    family: str
    female: bool
    birth: date
    civic_no: str
    eppn: str
    marking: str
    signature: str


class People:
    """Makes unique people for one municipality; knows every ePPN and personnummer in use."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng = rng
        self.domain = domain
        self.eppns: set[str] = set()
        self.civic_nos: set[str] = set()
        self.signatures: set[str] = set()
        self._next: dict[str, int] = {}

    def remember(self, eppns: Iterable[str], civic_nos: Iterable[str]) -> None:
        """Mark existing accounts as taken (when adding people to an existing dataset)."""
        self.eppns.update(eppns)
        self.civic_nos.update(civic_nos)

    def make(self, birth_year: int, *, child: bool, signature: bool = False) -> Identity:
        rng = self.rng
        female = rng.random() < 0.5
        foreign = rng.random() < (FOREIGN_SHARE_PUPILS if child else FOREIGN_SHARE_STAFF)
        if foreign:
            given = (_F_GIRLS if female else _F_BOYS).pick(rng)
            family = (_F_FAMILY if rng.random() < 0.75 else _FAMILY).pick(rng)
        else:
            lists = (_GIRLS, _BOYS) if child else (_WOMEN, _MEN)
            given = (lists[0] if female else lists[1]).pick(rng)
            family = (_FAMILY if rng.random() < 0.95 else _F_FAMILY).pick(rng)
        middle = _FAMILY.pick(rng) if rng.random() < MIDDLE_NAME_SHARE else None
        if middle == family:
            middle = None
        birth = date(birth_year, 1, 1) + timedelta(days=rng.randrange(365))
        roll = rng.random()
        marking = (
            "Skyddad folkbokföring"
            if roll < PROTECTED_SHARE
            else "Sekretessmarkering"
            if roll < PROTECTED_SHARE + CONFIDENTIAL_SHARE
            else "Ingen"
        )
        return Identity(
            given=given,
            middle=middle,
            family=family,
            female=female,
            birth=birth,
            civic_no=self._civic_no(birth, female),
            eppn=self._eppn(given, family),
            marking=marking,
            signature=self._signature(given, family) if signature else "",
        )

    def _civic_no(self, birth: date, female: bool) -> str:
        rng = self.rng
        while True:
            sex_digit = rng.randrange(0, 10, 2) if female else rng.randrange(1, 10, 2)
            serial = f"{rng.randrange(100):02d}{sex_digit}"
            body = f"{birth:%y%m%d}{serial}"
            value = f"{birth:%Y%m%d}{serial}{luhn_digit(body)}"
            if value not in self.civic_nos:
                self.civic_nos.add(value)
                return value

    def _eppn(self, given: str, family: str) -> str:
        base = f"{ascii_slug(given)}.{ascii_slug(family)}"
        n = self._next.get(base, 1)
        value = f"{base}@{self.domain}" if n == 1 else f"{base}{n}@{self.domain}"
        while value in self.eppns:
            n += 1
            value = f"{base}{n}@{self.domain}"
        self._next[base] = n + 1
        self.eppns.add(value)
        return value

    def _signature(self, given: str, family: str) -> str:
        letters = (ascii_slug(given)[:1] + ascii_slug(family).replace("-", "")[:2]).upper()
        value, n = letters, 1
        while value in self.signatures:
            n += 1
            value = f"{letters}{n}"
        self.signatures.add(value)
        return value
