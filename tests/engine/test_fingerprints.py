"""Fingerprints are part of the journal's format: the mirror and the skips hold them, so a
change in how they are made would make every object look changed (and every skip lapse) on
the first run after an upgrade. These values are pinned; change them only with a migration
(journal schema 2 moved attribute fingerprints from the ``repr`` to JSON; see
tests/engine/test_fingerprint_upgrade.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import orjson
import pytest

from engine.links import LinkSet
from engine.model import Group, GroupType, Person, School
from engine.target import (
    DesiredObject,
    attrs_fingerprint,
    attrs_from_json,
    attrs_of,
    desired_object,
    is_legacy_of,
    legacy_attrs_fingerprint,
    upgraded_fingerprint,
)

ATTRS = attrs_of(
    {"displayName": "Åsa Öberg", "accountEnabled": True, "term": {"startDate": "2026-08-17"}}
)


def test_attribute_fingerprints_are_pinned() -> None:
    assert DesiredObject("user", "p1", ATTRS).fingerprint == "52477a004930e1335b3236df7132db64"
    assert DesiredObject("team", "g1", attrs_of({"template": "educationClass"})).fingerprint == (
        DesiredObject("team", "g2", (("template", "educationClass"),)).fingerprint
    )


def test_the_hashed_form_is_plain_compact_json() -> None:
    """Not a detail of one orjson release: the standard library's compact JSON hashes alike."""
    text = json.dumps(ATTRS, separators=(",", ":"), ensure_ascii=False).encode()
    assert attrs_fingerprint(ATTRS) == hashlib.blake2b(text, digest_size=16).hexdigest()


def test_the_legacy_fingerprint_is_pinned_and_recognised() -> None:
    legacy = legacy_attrs_fingerprint(ATTRS)
    assert legacy == "932f1864415cf668"
    assert is_legacy_of(legacy, ATTRS) and upgraded_fingerprint(legacy, ATTRS) == (
        attrs_fingerprint(ATTRS)
    )
    other = attrs_of({"displayName": "Åsa Öberg", "accountEnabled": False})
    assert not is_legacy_of(legacy, other) and upgraded_fingerprint(legacy, other) == legacy
    assert not is_legacy_of(attrs_fingerprint(ATTRS), ATTRS)  # a current one is not legacy
    assert upgraded_fingerprint("drifted", ATTRS) == "drifted"


def test_a_fingerprint_survives_the_journals_round_trip() -> None:
    """The journal stores attributes as orjson's JSON: read back, they hash as they did."""
    attrs = attrs_of({"n": 3, "x": 0.1, "on": False, "none": None, "list": [1, [2, "å"]]})
    back = attrs_from_json(orjson.dumps(attrs))
    assert back == attrs and attrs_fingerprint(back) == attrs_fingerprint(attrs)
    assert attrs_from_json(None) == () == attrs_from_json(b"")


def test_values_json_tells_apart_hash_apart() -> None:
    values = [True, 1, 1.0, "1", None, "null", "", (), ((),), (("a", 1),), ("a", 1)]
    prints = {attrs_fingerprint((("v", v),)) for v in values}
    assert len(prints) == len(values)


def test_values_json_cannot_tell_apart_hash_alike_and_unwritable_ones_raise() -> None:
    """A date hashes as its ISO string, as the journal stores it; what orjson cannot write
    could not be stored either."""
    assert attrs_fingerprint((("d", date(2026, 8, 17)),)) == attrs_fingerprint(
        (("d", "2026-08-17"),)
    )
    with pytest.raises(TypeError):
        attrs_fingerprint((("n", 2**64),))
    with pytest.raises(TypeError):
        attrs_fingerprint((("s", {1, 2}),))


def test_record_fingerprints_are_pinned_and_leave_the_personnummer_out() -> None:
    person = Person("p1", "Åsa", "Öberg", emails=("a@x.se",))
    assert person.fingerprint == "7cb040938d03aa0a"
    assert Person(
        "p1", "Åsa", "Öberg", emails=("a@x.se",), civic_no="200112240129"
    ).fingerprint == (person.fingerprint)
    school = School("s1", "Åshöjdsskolan", "12345678")
    group = Group("g1", "7A", GroupType.KLASS, "s1", start=date(2026, 8, 17))
    assert len({school.fingerprint, group.fingerprint, person.fingerprint}) == 3
    assert Group("g1", "7B", GroupType.KLASS, "s1", start=date(2026, 8, 17)).fingerprint != (
        group.fingerprint
    )


def test_a_link_set_is_a_set_of_pairs_grouped_by_parent() -> None:
    pairs = {("c2", "u3"), ("c1", "u2"), ("c1", "u1"), ("c2", "u1")}
    links = LinkSet(pairs)
    assert list(links) == sorted(pairs)
    assert len(links) == 4 and ("c1", "u2") in links and ("c1", "u3") not in links
    assert links.by_parent == {"c1": {"u1", "u2"}, "c2": {"u1", "u3"}}
    assert links.children("c2") == ("u1", "u3") and links.children("c9") == ()
    assert links == LinkSet.from_groups({"c2": ["u3", "u1", "u1"], "c1": {"u2", "u1"}, "c3": []})
    assert links == frozenset(pairs)
    assert set(links.without(children={"u1"})) == {("c1", "u2"), ("c2", "u3")}
    assert set(links.without(parents={"c1"})) == {("c2", "u1"), ("c2", "u3")}
    assert not LinkSet() and repr(links) == "LinkSet(4 links under 2 parents)"


def test_the_quick_desired_object_is_the_same_object() -> None:
    attrs = attrs_of({"displayName": "7A", "term": {"startDate": "2026-08-17"}})
    quick = desired_object("class", "g1", attrs, "7A")
    assert quick == DesiredObject("class", "g1", attrs, label="7A")
    assert quick.fingerprint == attrs_fingerprint(attrs)
    assert desired_object("team", "g1", (), "7A", "f" * 32).fingerprint == "f" * 32
