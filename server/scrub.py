"""A last defensive pass over everything the server sends: no personnummer-like text leaves.

The engine never hands out a personnummer; this scrub exists so that a bug elsewhere (a vendor
error message quoted into an event, say) still cannot leak one through the MCP server.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"

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


def scrub_text(text: str) -> str:
    """The text with every personnummer-like number replaced by ``[redacted]``."""
    return PERSONNUMMER.sub(REDACTED, text)


def scrub(value: Any) -> Any:
    """Scrub every string inside JSON-like data (dict keys too), keeping its shape."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value
