"""What Google takes as the local part of an address (before the ``@``)."""

from __future__ import annotations


def local_part(text: str) -> str:
    """What Google takes before the ``@``: letters, digits, ``.``, ``-``, ``_``; no leading,
    trailing or doubled dot."""
    out = "".join(c for c in text.lower() if c.isascii() and (c.isalnum() or c in "._-"))
    while ".." in out:
        out = out.replace("..", ".")
    return out.strip(".")[:64]
