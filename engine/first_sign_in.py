"""First sign-in: what password, if any, a new account gets, and who may learn it.

A tenant chooses (``first_sign_in`` in its table):

- ``discard`` (the default, the behaviour of earlier releases): each new account gets a random
  password that nobody keeps; the school resets it in the service's own admin centre.
- ``federated``: sign-in happens at the municipality's identity provider, so the service never
  checks a password. The services still require one on create, so each account gets a random
  throwaway that is not forced to change and never handed to anyone.
- ``passwords``: ESS makes the initial password, the account must change it at first sign-in,
  and the passwords of one run are handed to the school as per-class lists encrypted to a named
  staff member (:mod:`engine.hand_over`). They live only in this process's memory until then:
  never in the journal, a log line or an operation's attributes.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Mode = Literal["discard", "federated", "passwords"]

SYMBOLS = "!#%+-=?"
# No look-alikes (0/O, 1/l/I): a pupil types it from a printed list.
LETTERS = "".join(c for c in string.ascii_letters if c not in "OIl")
DIGITS = "23456789"
ALPHABET = LETTERS + DIGITS + SYMBOLS
LENGTH = 14
"""Long enough to be unguessable for its few days of life, short enough to type; meets Entra's
and Google's rules (8+ characters, three of upper, lower, digit, symbol)."""


class HandOverConfig(BaseModel):
    """``[tenants.NAME.hand_over]``: to whom, and where, a run's initial passwords go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    staff: str = Field(min_length=1)  # the named staff member who holds the private key
    public_key: str  # her age recipient, "age1..."
    folder: str  # where the encrypted lists are written (relative to ess.toml)
    # OS accounts of engineers who may see a reset's password once on their own terminal
    show_to: tuple[str, ...] = ()

    @field_validator("public_key")
    @classmethod
    def _age_recipient(cls, value: str) -> str:
        if not value.startswith("age1") or len(value) < 50 or any(c.isspace() for c in value):
            raise ValueError(
                "must be an age public key (age1..., made with `age-keygen` by the staff "
                "member, who keeps the private key)"
            )
        return value


def new_password(rng: secrets.SystemRandom | None = None) -> str:
    """A random password with an upper, a lower, a digit and a symbol."""
    rng = rng or secrets.SystemRandom()
    chars = [
        rng.choice(string.ascii_uppercase.replace("O", "").replace("I", "")),
        rng.choice(string.ascii_lowercase.replace("l", "")),
        rng.choice(DIGITS),
        rng.choice(SYMBOLS),
    ] + [rng.choice(ALPHABET) for _ in range(LENGTH - 4)]
    rng.shuffle(chars)
    # a letter first: a spreadsheet opening the CSV list reads "=..." or "+..." as a formula
    first = next(i for i, c in enumerate(chars) if c.isalpha())
    chars[0], chars[first] = chars[first], chars[0]
    return "".join(chars)


@dataclass(frozen=True)
class Initial:
    """The password a create sends, and whether the account must change it at first sign-in."""

    password: str = field(repr=False)
    change_at_first_sign_in: bool


@dataclass(frozen=True)
class Issued:
    """One account created with a password to hand over."""

    target: str
    person: str  # the source id
    label: str  # the name as the policy lets it be shown
    account: str  # what the pupil signs in with
    password: str = field(repr=False)


class InitialPasswords:
    """What a run's creates send, per the tenant's choice, and the passwords to hand over.

    A target asks :meth:`initial` when it builds a create, and calls :meth:`created` once the
    service has taken it: only an account that exists is handed over. Nothing here is written
    anywhere; :mod:`engine.hand_over` encrypts the lot at the end of the run.
    """

    def __init__(self, mode: Mode = "discard") -> None:
        self.mode: Mode = mode
        self._issued: dict[tuple[str, str], Issued] = {}

    def initial(self) -> Initial:
        return Initial(new_password(), change_at_first_sign_in=self.mode != "federated")

    def created(self, target: str, person: str, label: str, account: str, initial: Initial) -> None:
        if self.mode == "passwords":
            self._issued[(target, person)] = Issued(
                target, person, label, account, initial.password
            )

    def issued(self) -> list[Issued]:
        return list(self._issued.values())

    def clear(self) -> None:
        self._issued.clear()

    def __repr__(self) -> str:
        return f"InitialPasswords({self.mode!r}, {len(self._issued)} to hand over)"
