"""A streaming, hardened parse of one IMS Enterprise file into raw records.

The file is read with lxml's ``iterparse``: each ``<person>``, ``<group>`` and
``<membership>`` is turned into a raw record when it ends and then cleared, so the large
municipality's export is read in bounded memory. Element names are matched by their local
name, so plain IMS Enterprise 1.1, Tieto's Organization API namespaces and the TK450
extension namespace (``http://tk450.se/ims/enterprise/extension/v1``) read alike.

Hostile XML is refused before anything is read from it: a document type declaration (the
door to entity expansion and to external entities and DTD fetches) is an error naming the
file; entities are never resolved, nothing is fetched from the network, and libxml2's limits
on depth and text size stay on (``huge_tree`` off). A file that is not well-formed is one
:class:`SourceError` naming the file, line and column.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from lxml import etree

from adapters.ims.records import FileHead, RawGroup, RawMember, RawPerson, Where
from adapters.kit.exports import Readable
from engine.source import SourceError

Record = FileHead | RawPerson | RawGroup | RawMember
_intern = sys.intern

PERSON_ID_TYPES = frozenset({"person", "1"})
GROUP_ID_TYPES = frozenset({"group", "2"})
CIVIC_TYPES = frozenset({"pid", "personnummer", "civicno", "personalidentitynumber"})
EPPN_TYPES = frozenset({"eppn", "edupersonprincipalname"})
IGNORED_ID_TYPES = frozenset({"guid"})  # the record's own id again


_LOCAL_NAMES: dict[object, str] = {}
"""Each tag seen (``{namespace}name``) and its local name: an export has a few dozen tags
and millions of elements."""


def _local(el: etree._Element) -> str:
    tag = el.tag
    return _LOCAL_NAMES.get(tag) or _learn(tag)


def _learn(tag: object) -> str:
    """The local name of a tag not seen before (kept for the next time)."""
    name = tag.rpartition("}")[2] if isinstance(tag, str) else ""  # "": a comment or PI
    if len(_LOCAL_NAMES) < 10_000:  # a hostile file's endless distinct tags are not kept
        _LOCAL_NAMES[tag] = name
    return name


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return (el.text or "").strip()


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for c in el:
        if _local(c) == name:
            return c
    return None


def _children(el: etree._Element, name: str) -> Iterator[etree._Element]:
    for c in el:
        if _local(c) == name:
            yield c


def _descendants(el: etree._Element | None) -> Iterator[tuple[str, etree._Element]]:
    if el is None:
        return
    for d in el.iter():
        if d is not el:
            name = _local(d)
            if name:
                yield name, d


def _first(values: dict[str, list[etree._Element]], *names: str) -> str:
    for name in names:
        for el in values.get(name, ()):
            text = _text(el)
            if text:
                return text
    return ""


def _sourced_id(el: etree._Element) -> str:
    """The id of the first ``<sourcedid>`` that is not marked old or a duplicate."""
    for sid in _children(el, "sourcedid"):
        if _current_sid(sid):
            return _id_of(sid)
    return ""


def _by_name(el: etree._Element | None) -> dict[str, list[etree._Element]]:
    out: dict[str, list[etree._Element]] = {}
    for name, d in _descendants(el):
        out.setdefault(name.lower(), []).append(d)
    return out


def _timeframe(el: etree._Element) -> tuple[str, str]:
    tf = _child(el, "timeframe")
    if tf is None:
        return "", ""
    return _text(_child(tf, "begin")), _text(_child(tf, "end"))


def _person(el: etree._Element, where: Where) -> RawPerson:
    civic: str | None = None
    eppns: list[str] = []
    emails: list[str] = []
    external: list[tuple[str, str]] = []
    for uid in _children(el, "userid"):
        kind, value = uid.get("useridtype", "").strip(), _text(uid)
        if not value:
            continue
        low = kind.lower()
        if low in CIVIC_TYPES:
            civic = value
        elif low in EPPN_TYPES:
            eppns.append(value)
        elif low not in IGNORED_ID_TYPES and kind:
            external.append((kind, value))
    name = _child(el, "name")
    n = _child(name, "n") if name is not None else None
    for tag in ("email", "emailworkschool", "emailworkschool2"):
        value = _text(_child(el, tag))
        if value:
            emails.append(value)
    ext = _by_name(_child(el, "extension"))
    work = _first(ext, "emailwork", "email_work")
    if work:
        emails.append(work)
    privacy = ext.get("privacy", [None])[0]
    return RawPerson(
        _sourced_id(el),
        el.get("recstatus", "").strip(),
        where,
        given=_text(_child(n, "given")) if n is not None else "",
        family=_text(_child(n, "family")) if n is not None else "",
        middle=_text(_child(n, "other")) if n is not None else "",
        full_name=_text(_child(name, "fn")) if name is not None else "",
        civic_no=civic,
        eppns=tuple(eppns),
        emails=tuple(dict.fromkeys(emails)),
        privacy=_text(privacy),
        privacy_level=(privacy.get("level", "") if privacy is not None else "").strip(),
        external_ids=tuple(external),
    )


def _group(el: etree._Element, where: Where) -> RawGroup:
    gtype = _child(el, "grouptype")
    type_value = _text(_child(gtype, "typevalue")) if gtype is not None else ""
    desc = _child(el, "description")
    name = ""
    if desc is not None:
        name = _text(_child(desc, "short")) or _text(_child(desc, "long"))
        name = name or _text(_child(desc, "full"))
    begin, end = _timeframe(el)
    ext_el = _child(el, "extension")
    ext = _by_name(ext_el)
    school_types = [
        t for key in ("schooltype", "school_type") for t in map(_text, ext.get(key, ())) if t
    ]
    code = _first(ext, "schoolunitcode", "school_unit_code")
    if not code and ext_el is not None:  # Tieto v12: the unit's code is its extension's id
        code = _text(_child(ext_el, "id"))
    return RawGroup(
        _sourced_id(el),
        el.get("recstatus", "").strip(),
        where,
        type_value=type_value,
        sub_type=_first(ext, "subgrouptype"),
        name=name,
        begin=begin,
        end=end,
        school_types=tuple(school_types),
        municipality_code=_first(ext, "municipalitycode", "municipality_code"),
        school_unit_code=code,
        course_code=_first(ext, "coursecode", "course_code", "subjectcode", "subject_code"),
    )


def _members(el: etree._Element, file: str) -> Iterator[RawMember]:
    """Each role of each member, each element's children read in one pass: a municipality's
    export has some two million member roles, so this loop is most of a read. Ids, dates and
    role types are interned: a municipality names each person and group in many memberships,
    and has few distinct dates and roles."""
    names = _LOCAL_NAMES
    group_id: str | None = None
    members: list[etree._Element] = []
    for c in el:
        name = names.get(c.tag) or _learn(c.tag)
        if name == "member":
            members.append(c)
        elif name == "sourcedid" and group_id is None and _current_sid(c):
            group_id = _intern(_id_of(c))
    group_id = group_id or ""
    for member in members:
        line = member.sourceline or 0
        member_id: str | None = None
        id_type: str | None = None
        roles: list[etree._Element] = []
        for c in member:
            name = names.get(c.tag) or _learn(c.tag)
            if name == "role":
                roles.append(c)
            elif name == "sourcedid":
                if member_id is None and _current_sid(c):
                    member_id = _intern(_id_of(c))
            elif name == "idtype" and id_type is None:
                id_type = (c.text or "").strip().lower()
        member_id = member_id or ""
        id_type = id_type or ""
        is_group = id_type in GROUP_ID_TYPES
        for role in roles:
            status = begin = end = school_year = sub_role = None
            for c in role:
                name = names.get(c.tag) or _learn(c.tag)
                if name == "status":
                    if status is None:
                        status = _intern((c.text or "").strip())
                elif name == "timeframe":
                    if begin is None:
                        begin, end = _begin_end(c)
                elif name == "extension":
                    if school_year is None:
                        school_year = _first(_by_name(c), "schoolyear", "school_year")
                elif name == "subrole" and sub_role is None:
                    sub_role = (c.text or "").strip()
            get = role.get
            yield RawMember(
                group_id,
                member_id,
                is_group,
                _intern(get("roletype", "01").strip()),
                get("recstatus", "").strip(),
                file,
                line,
                status or "",
                begin or "",
                end or "",
                _intern(school_year) if school_year else "",
                sub_role or "",
            )
        if id_type not in PERSON_ID_TYPES and not is_group:
            yield RawMember(group_id, member_id, False, "?idtype:" + id_type[:40], "", file, line)


def _begin_end(tf: etree._Element) -> tuple[str, str]:
    """A ``<timeframe>``'s first begin and end (interned; empty when not given)."""
    names = _LOCAL_NAMES
    begin = end = None
    for c in tf:
        name = names.get(c.tag) or _learn(c.tag)
        if name == "begin":
            if begin is None:
                begin = _intern((c.text or "").strip())
        elif name == "end" and end is None:
            end = _intern((c.text or "").strip())
    return begin or "", end or ""


def _current_sid(sid: etree._Element) -> bool:
    """A ``<sourcedid>`` that is not marked old or a duplicate."""
    return sid.get("sourcedidtype", "").lower() not in ("old", "duplicate")


def _id_of(sid: etree._Element) -> str:
    names = _LOCAL_NAMES
    for c in sid:
        if (names.get(c.tag) or _learn(c.tag)) == "id":
            return (c.text or "").strip()
    return ""


def _head(el: etree._Element) -> FileHead:
    return FileHead(_text(_child(el, "type")), _text(_child(el, "datetime")))


RECORD_TAGS = ("{*}enterprise", "{*}properties", "{*}person", "{*}group", "{*}membership")


def _root(el: etree._Element, file: str) -> etree._Element:
    """The document's root, checked: no DOCTYPE, and an ``<enterprise>``."""
    _refuse_doctype(el, file)
    if el.getparent() is not None or _local(el) != "enterprise":
        top = el.getroottree().getroot()
        raise SourceError(
            f"{file} line {top.sourceline}: the document is <{_local(top)}>, "
            "not an IMS Enterprise <enterprise>"
        )
    return el


def _refuse_doctype(root: etree._Element, file: str) -> None:
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise SourceError(
            f"{file}: the file declares a document type (<!DOCTYPE ...>); ESS refuses it, "
            "since entities and DTD fetches can hide an attack. Export the file again "
            "without a DOCTYPE."
        )


def read_records(stream: Readable, file: str) -> Iterator[Record]:
    """The file's head and records, in file order; a file ESS cannot read is a
    :class:`SourceError` naming it (and the line and column, where there is one)."""
    file = _intern(file)
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        tag=RECORD_TAGS,  # lxml filters in C: Python sees records, not every element
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    try:
        for event, el in events:
            if event == "start":
                if root is None:
                    root = _root(el, file)
                continue
            if root is None or el.getparent() is not root:
                continue  # the root's end, or an element of that name deeper down
            name = _local(el)
            where = Where(file, el.sourceline or 0)
            if name == "person":
                yield _person(el, where)
            elif name == "group":
                yield _group(el, where)
            elif name == "membership":
                yield from _members(el, file)
            elif name == "properties":
                yield _head(el)
            el.clear()
            while el.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        raise SourceError(_syntax_message(file, exc)) from None
    except etree.LxmlError as exc:
        raise SourceError(f"{file}: cannot be read as XML ({exc})") from None
    if root is None:
        top = events.root  # a document without one element ESS reads
        if top is None:
            raise SourceError(f"{file}: the file holds no XML document")
        _root(top, file)


def _syntax_message(file: str, exc: etree.XMLSyntaxError) -> str:
    line, column = exc.position if exc.position else (exc.lineno, 0)
    msg = (exc.msg or str(exc)).split(", line ")[0]
    if "no element found" in msg or "Document is empty" in msg:
        return f"{file}: the file is empty or holds no XML (an export cut short?)"
    if "Premature end of data" in msg or ("EndTag" in msg and "expected" in msg):
        return f"{file} line {line}, column {column}: the file ends too early ({msg})"
    if "entity" in msg.lower():
        return f"{file} line {line}, column {column}: refused ({msg}); entities are not allowed"
    return f"{file} line {line}, column {column}: not well-formed XML ({msg})"
