"""Names for Entra objects: account names and class nicknames as Entra accepts them.

The steps every target shares (folding, templates, unique names, the school year) are the kit's
(:mod:`adapters.kit.naming`, :mod:`adapters.kit.schoolyear`); what Entra allows in a
userPrincipalName or a mailNickname is decided here.
"""

from __future__ import annotations

import re

from adapters.kit.naming import ascii_fold
from engine.model import fingerprint

_LOCAL_OK = re.compile(r"[^a-z0-9._-]+")
_NICK_OK = re.compile(r"[^a-z0-9_-]+")
_DOTS = re.compile(r"\.{2,}")

MAX_LOCAL = 64
MAX_NICKNAME = 64


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
