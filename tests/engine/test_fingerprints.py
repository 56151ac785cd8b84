"""Fingerprints are part of the journal's format: the mirror and the skips hold them, so a
change in how they are made would make every object look changed (and every skip lapse) on
the first run after an upgrade. These values are pinned; change them only with a migration."""

from __future__ import annotations

from datetime import date

from engine.links import LinkSet
from engine.model import Group, GroupType, Person, School
from engine.target import DesiredObject, attrs_of


def test_attribute_fingerprints_are_pinned() -> None:
    attrs = attrs_of(
        {"displayName": "Åsa Öberg", "accountEnabled": True, "term": {"startDate": "2026-08-17"}}
    )
    assert DesiredObject("user", "p1", attrs).fingerprint == "932f1864415cf668"
    assert DesiredObject("team", "g1", attrs_of({"template": "educationClass"})).fingerprint == (
        DesiredObject("team", "g2", (("template", "educationClass"),)).fingerprint
    )


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
    assert links.by_parent == {"c1": ("u1", "u2"), "c2": ("u1", "u3")}
    assert links == LinkSet.from_groups({"c2": ["u3", "u1", "u1"], "c1": {"u2", "u1"}, "c3": []})
    assert links == frozenset(pairs)
    assert set(links.without(children={"u1"})) == {("c1", "u2"), ("c2", "u3")}
    assert set(links.without(parents={"c1"})) == {("c2", "u1"), ("c2", "u3")}
    assert not LinkSet() and repr(links) == "LinkSet(4 links under 2 parents)"
