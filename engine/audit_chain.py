"""The audit log as a hash chain: each row's hash covers its content and the row before.

Anyone who may write the journal (root on the ESS host) can edit a row; nothing on the host
can stop that. What the chain gives is detection: a row edited, removed or cut from the end no
longer fits the chain, or no longer leads to a head that was seen outside the host (``ess audit
head``, sent to the notification channels). A whole chain recomputed after an edit leads to a
different head, so checking against the last head seen outside (``ess audit verify --head``)
finds it. A row that retention or ``person forget`` removes leaves a tombstone: its content is
gone, its hash stays, so the rows after it still verify.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

GENESIS = ""
"""The ``prev`` of the first row ever written."""

_HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True, slots=True)
class AuditLink:
    """One audit row as the chain sees it: the stored text of every field it covers."""

    id: int
    at: str
    actor: str
    action: str
    tenant: str | None
    allowed: bool
    detail: str
    prev: str
    hash: str
    tombstone: bool


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The newest row's id and hash: what is sent out of the host to check the log against."""

    id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """``ID:HASH`` as ``ess audit head`` prints it; ValueError naming the form otherwise."""
        m = _HEAD.match(text.strip())
        if m is None:
            raise ValueError(
                "a head is written ID:HASH (a row id, a colon and 64 hex digits), as "
                "`ess audit head` prints it"
            )
        return cls(int(m.group(1)), m.group(2))


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """Whether the chain holds, how many rows were checked, and the first problem found."""

    ok: bool
    checked: int
    head: AuditHead | None
    problem: str = ""


def row_hash(
    prev: str,
    id: int,
    at: str,
    actor: str,
    action: str,
    tenant: str | None,
    allowed: bool,
    detail: str,
) -> str:
    """SHA-256 over the previous row's hash and this row's fields, as canonical JSON."""
    body = orjson.dumps([prev, id, at, actor, action, tenant, allowed, detail])
    return hashlib.sha256(body).hexdigest()


def link_hash(link: AuditLink) -> str:
    return row_hash(
        link.prev,
        link.id,
        link.at,
        link.actor,
        link.action,
        link.tenant,
        link.allowed,
        link.detail,
    )


def verify_chain(links: Iterable[AuditLink], known: AuditHead | None = None) -> ChainVerdict:
    """Walk the rows in id order. Each must name the hash of the row before it as its ``prev``
    and, unless a tombstone, hash to what it stores; the ``known`` head (seen outside the host)
    must still be there with the same hash. The oldest row's ``prev`` is taken as given:
    retention may have removed what came before it."""
    running: str | None = None
    last: AuditLink | None = None
    checked = 0
    seen_known = known is None
    for link in links:
        if running is not None and link.prev != running:
            return ChainVerdict(
                False,
                checked,
                _head(last),
                f"row {link.id} does not follow row {_id(last)}: a "
                "row between them was removed, or one of them was changed",
            )
        if not link.tombstone and link_hash(link) != link.hash:
            return ChainVerdict(
                False, checked, _head(last), f"row {link.id} was changed after it was written"
            )
        if known is not None and link.id == known.id:
            if link.hash != known.hash:
                return ChainVerdict(
                    False,
                    checked,
                    _head(link),
                    f"row {link.id} is not the head seen outside: the log was rewritten up to it",
                )
            seen_known = True
        running = link.hash
        last = link
        checked += 1
    if not seen_known:
        assert known is not None
        return ChainVerdict(
            False,
            checked,
            _head(last),
            f"row {known.id}, the head seen outside, is gone: the log was cut short",
        )
    return ChainVerdict(True, checked, _head(last))


def _head(link: AuditLink | None) -> AuditHead | None:
    return AuditHead(link.id, link.hash) if link is not None else None


def _id(link: AuditLink | None) -> str:
    return str(link.id) if link is not None else "none"
