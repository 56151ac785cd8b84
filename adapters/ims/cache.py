"""What the IMS source keeps between reads of the HTTPS form with ``delta_url``: the
documents of the last complete export and the delta exports fetched after it.

An incremental read applies the kept documents in order and the new delta after them, as a
folder of exports is read. A document is kept only once it has been read (the hardened parse
refused nothing in it), and a personnummer in it (a ``userid`` of type ``PID`` or the like)
only as what the engine's civic hash keeps of it: its keyed hash, or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from adapters.ims.parse import CIVIC_TYPES
from engine.civic_hash import CivicHash

ENTITY = "ims.documents"
COMPLETE, DELTA = "c", "d"  # id prefixes: the complete export's parts sort before the deltas


def complete_id(n: int) -> str:
    return f"{COMPLETE}{n:05d}"


def delta_id(stored: Mapping[str, bytes]) -> str:
    """The id of the next delta: after every one kept."""
    return f"{DELTA}{sum(1 for k in stored if k.startswith(DELTA)) + 1:05d}"


def is_complete_part(doc_id: str) -> bool:
    return doc_id.startswith(COMPLETE)


def kept(body: bytes, civic_hash: CivicHash) -> bytes:
    """``body`` as the cache may hold it: each personnummer replaced by its hash, or its
    ``userid`` left out when nothing may be kept."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(body, parser)
    for el in list(root.iter("{*}userid", "userid")):
        kind = (el.get("useridtype") or "").strip().lower()
        text = (el.text or "").strip()
        if kind not in CIVIC_TYPES or not text:
            continue
        hashed = civic_hash(text)
        parent = el.getparent()
        if hashed is None and parent is not None:
            parent.remove(el)
        else:
            el.text = hashed
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _sid(el: etree._Element) -> str:
    """The id of an element's first current ``<sourcedid>``."""
    for sid in el.iterchildren("{*}sourcedid", "sourcedid"):
        if sid.get("sourcedidtype", "").lower() in ("old", "duplicate"):
            continue
        for i in sid.iterchildren("{*}id", "id"):
            return (i.text or "").strip()
    return ""


def _names(el: etree._Element, key: str) -> bool:
    """Any ``<sourcedid>`` of the element (current, old or duplicate) is ``key``."""
    return any(
        (i.text or "").strip() == key
        for sid in el.iterchildren("{*}sourcedid", "sourcedid")
        for i in sid.iterchildren("{*}id", "id")
    )


def without_person(body: bytes, key: str) -> bytes | None:
    """A kept document without the person ``key``: their ``<person>`` records and their
    ``<member>`` entries left out (what the document gives is unchanged once they are gone
    from the source). None when the document never named them."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(body, parser)
    drop = [p for p in root.iterchildren("{*}person", "person") if _names(p, key)]
    for membership in root.iterchildren("{*}membership", "membership"):
        drop += [m for m in membership.iterchildren("{*}member", "member") if _names(m, key)]
    for el in drop:
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)
    if not drop:
        return None
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
