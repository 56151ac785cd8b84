"""How ``ess source rekey`` matches the old source's records to the new one's
(engine.rekey.map_ids): one to one or not at all."""

from __future__ import annotations

from datetime import date

from engine.config import MatchKeys
from engine.model import Group, GroupType, Person, Protection, School, Snapshot
from engine.rekey import map_ids

DAY = date(2026, 11, 2)


def snap(schools: list[School], persons: list[Person], groups: list[Group]) -> Snapshot:
    return Snapshot(
        {s.id: s for s in schools},
        {p.id: p for p in persons},
        {g.id: g for g in groups},
        (),
        (),
        DAY,
    )


OLD_SCHOOL = School("ims-s1", "Kvarnskolan", "11111111")
NEW_SCHOOL = School("uuid-s1", "Kvarnskolan (F-9)", "11111111")


def test_schools_by_code_groups_by_code_persons_by_any_key() -> None:
    old = snap(
        [OLD_SCHOOL],
        [
            Person("o1", "Åsa", "Berg", civic_no="h:1"),
            Person("o2", "Bo", "Ek", eppns=("bo.ek@x.se",)),
            Person("o3", "Cilla", "Ny", emails=("Cilla@X.se",)),
        ],
        [Group("o-7a", "7A", GroupType.KLASS, "ims-s1", start=date(2026, 8, 17))],
    )
    new = snap(
        [NEW_SCHOOL],
        [
            Person("n1", "Åsa", "Berg", civic_no="h:1"),
            Person("n2", "Bo", "Ek", eppns=("BO.EK@x.se",)),
            Person("n3", "Cilla", "Ny", emails=("cilla@x.se",)),
        ],
        [Group("n-7a", "7a", GroupType.KLASS, "uuid-s1", start=date(2026, 8, 20))],
    )
    m = map_ids(old, new, MatchKeys(), "exclude")
    assert m.ids == {
        "school": {"ims-s1": "uuid-s1"},
        "person": {"o1": "n1", "o2": "n2", "o3": "n3"},
        "group": {"o-7a": "n-7a"},
    }
    assert m.unmatched == ()


def test_a_group_of_another_year_or_school_is_not_the_same_group() -> None:
    old = snap([OLD_SCHOOL], [], [Group("o", "7A", GroupType.KLASS, "ims-s1", start=DAY)])
    new = snap(
        [NEW_SCHOOL], [], [Group("n", "7A", GroupType.KLASS, "uuid-s1", start=date(2027, 8, 20))]
    )
    m = map_ids(old, new, MatchKeys(), "exclude")
    assert m.ids["group"] == {}
    assert [(u.record_type, u.reason) for u in m.unmatched] == [("group", "unmatched")]


def test_two_old_persons_leading_to_one_new_are_both_held() -> None:
    old = snap(
        [OLD_SCHOOL],
        [Person("o1", "A", "B", emails=("x@x.se",)), Person("o2", "A", "B", eppns=("x@y.se",))],
        [],
    )
    new = snap([NEW_SCHOOL], [Person("n1", "A", "B", emails=("x@x.se",), eppns=("x@y.se",))], [])
    m = map_ids(old, new, MatchKeys(), "exclude")
    assert m.ids["person"] == {}
    assert sorted((u.old_id, u.reason) for u in m.unmatched) == [
        ("o1", "ambiguous"),
        ("o2", "ambiguous"),
    ]
    assert m.new_only["person"] == 1


def test_only_the_configured_keys_match() -> None:
    old = snap([OLD_SCHOOL], [Person("o1", "A", "B", emails=("a@x.se",))], [])
    new = snap([NEW_SCHOOL], [Person("n1", "A", "B", emails=("a@x.se",))], [])
    m = map_ids(old, new, MatchKeys(persons=("civic_no",)), "exclude")
    assert [u.reason for u in m.unmatched] == ["unmatched"]


def test_an_old_id_the_new_source_gives_another_record_is_a_clash() -> None:
    old = snap([OLD_SCHOOL], [Person("p7", "Åsa", "Berg", civic_no="h:1")], [])
    new = snap([NEW_SCHOOL], [Person("p7", "Olle", "Ny", civic_no="h:2")], [])
    m = map_ids(old, new, MatchKeys(), "exclude")
    assert [(u.old_id, u.reason) for u in m.clashes] == [("p7", "clash")]
    assert m.clashes[0].finding().blocking


def test_a_protected_person_is_named_by_pseudonym_only() -> None:
    hidden = Person("o1", "Hemlig", "Person", protection=Protection.PROTECTED_REGISTRATION)
    m = map_ids(snap([OLD_SCHOOL], [hidden], []), snap([NEW_SCHOOL], [], []), MatchKeys(), "mask")
    [u] = m.unmatched
    assert "Hemlig" not in u.label and "Hemlig" not in u.finding().message


def test_the_same_id_without_a_contradicting_key_is_the_same_record() -> None:
    # sources that share ids (an IMS export and OneRoster from one vendor): a person without
    # keys keeps the id both give it; one whose personnummer differs is a clash
    old = snap(
        [OLD_SCHOOL],
        [Person("p1", "Åsa", "Berg"), Person("p2", "Bo", "Ek", civic_no="h:1")],
        [],
    )
    new = snap(
        [NEW_SCHOOL],
        [Person("p1", "Åsa", "Berg"), Person("p2", "Olle", "Ny", civic_no="h:2")],
        [],
    )
    m = map_ids(old, new, MatchKeys(), "exclude")
    assert m.ids["person"] == {}  # nothing moves
    assert m.matched["person"] == 1
    assert [(u.old_id, u.reason) for u in m.unmatched if u.record_type == "person"] == [
        ("p2", "clash")
    ]
