"""A snapshot as the on-site agent sends it: msgspec JSON of the model's own records, gzipped.

msgspec encodes and decodes the frozen model records as they are (dataclasses and
NamedTuples), typed on the way back in, so a malformed upload is refused with the field it
broke rather than half read. gzip (the standard library's) shrinks a municipality's names and
ids about tenfold.

No personnummer in clear leaves the agent: the agent's source reads with the installation's
civic key (:class:`engine.civic_hash.KeyedCivicHash`), and :func:`encode_snapshot` hashes any
number still in clear before a byte is written. The ingest side refuses an upload holding a
number that is not a keyed hash, and stores nothing of it.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import replace
from datetime import date

import msgspec

from engine.civic_hash import CivicHash, is_hashed
from engine.model import (
    Group,
    Membership,
    Person,
    Refused,
    School,
    SchoolRole,
    Snapshot,
)

FORMAT = 1
"""The wire format's version; an ingest refuses a format it does not know."""


class WireError(ValueError):
    """An upload that is not a snapshot this ESS can take; the message names what is wrong."""


class WireRefused(msgspec.Struct, frozen=True):
    schools: list[str] = []
    persons: list[str] = []
    groups: list[str] = []


class WireSnapshot(msgspec.Struct, frozen=True):
    format: int
    as_of: date
    source: str
    schools: list[School]
    persons: list[Person]
    groups: list[Group]
    memberships: list[Membership]
    school_roles: list[SchoolRole]
    refused: WireRefused = WireRefused()


def encode_snapshot(snapshot: Snapshot, civic_hash: CivicHash) -> bytes:
    """The compressed upload body; every personnummer is a keyed hash (or left out)."""
    persons = [
        p
        if p.civic_no is None or is_hashed(p.civic_no)
        else replace(p, civic_no=civic_hash(p.civic_no))
        for p in snapshot.persons.values()
    ]
    wire = WireSnapshot(
        format=FORMAT,
        as_of=snapshot.as_of,
        source=snapshot.source,
        schools=list(snapshot.schools.values()),
        persons=persons,
        groups=list(snapshot.groups.values()),
        memberships=list(snapshot.memberships),
        school_roles=list(snapshot.school_roles),
        refused=WireRefused(
            sorted(snapshot.refused.schools),
            sorted(snapshot.refused.persons),
            sorted(snapshot.refused.groups),
        ),
    )
    return gzip.compress(msgspec.json.encode(wire), compresslevel=6)


def decode_snapshot(body: bytes, *, max_size: int, as_of: date | None = None) -> Snapshot:
    """The snapshot in an upload body, checked whole; ``as_of`` replaces the agent's day."""
    try:
        raw = _gunzip(body, max_size)
        wire = msgspec.json.decode(raw, type=WireSnapshot)
    except (OSError, EOFError, zlib.error) as exc:
        raise WireError(f"the upload is not gzip data ({exc})") from None
    except msgspec.ValidationError as exc:
        raise WireError(f"the upload is not a snapshot: {exc}") from None
    except msgspec.DecodeError as exc:
        raise WireError(f"the upload is not snapshot JSON: {exc}") from None
    if wire.format != FORMAT:
        raise WireError(f"the upload's format {wire.format} is not {FORMAT}; upgrade ESS")
    clear = sum(1 for p in wire.persons if p.civic_no is not None and not is_hashed(p.civic_no))
    if clear:
        raise WireError(
            f"the upload holds {clear} personnummer in clear; the agent must hash them with "
            "the installation's civic key ([privacy] civic_key in its config)"
        )
    for p in wire.persons:  # a fingerprint is worked out here, never taken from the agent
        object.__setattr__(p, "_fingerprint", "")
    for s in wire.schools:
        object.__setattr__(s, "_fingerprint", "")
    for g in wire.groups:
        object.__setattr__(g, "_fingerprint", "")
    return Snapshot(
        schools={s.id: s for s in wire.schools},
        persons={p.id: p for p in wire.persons},
        groups={g.id: g for g in wire.groups},
        memberships=tuple(wire.memberships),
        school_roles=tuple(wire.school_roles),
        as_of=as_of or wire.as_of,
        source=wire.source,
        refused=Refused(
            frozenset(wire.refused.schools),
            frozenset(wire.refused.persons),
            frozenset(wire.refused.groups),
        ),
    )


def _gunzip(body: bytes, max_size: int) -> bytes:
    """Unpacked, refusing more than ``max_size`` bytes (a zip bomb is refused, not unpacked)."""
    d = zlib.decompressobj(wbits=31)
    out = d.decompress(body, max_size + 1)
    if len(out) > max_size or d.unconsumed_tail:
        raise WireError(f"the upload unpacks to more than {max_size} bytes")
    if not d.eof:
        raise WireError("the upload's gzip data is cut short")
    return out
