"""The merge of several sources' snapshots (engine.merge), record by record: who owns a
school, a person in two sources, conflicts, clashes and a failed source."""

from __future__ import annotations

from datetime import date

from engine.config import MatchKeys
from engine.findings import Severity
from engine.merge import SourcePart, merge
from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    Protection,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.source import SourceRead

DAY = date(2026, 11, 2)
KEYS = MatchKeys()


def snap(
    school: School,
    persons: list[Person],
    group: Group | None = None,
    role: SchoolRoleType = SchoolRoleType.STUDENT,
) -> Snapshot:
    groups = {group.id: group} if group else {}
    members = tuple(
        Membership(group.id, p.id, MemberRole.STUDENT) for p in persons if group is not None
    )
    roles = tuple(SchoolRole(school.id, p.id, role) for p in persons)
    return Snapshot({school.id: school}, {p.id: p for p in persons}, groups, members, roles, DAY)


def part(key: str, s: Snapshot, schools: tuple[str, ...] = ()) -> SourcePart:
    return SourcePart(key, SourceRead(s), schools)


GR = School("gr-1", "Kvarnskolan", "11111111")
GY = School("gy-1", "Strandgårds gymnasium", "22222222")


def test_one_source_is_passed_through_untouched() -> None:
    s = snap(GR, [Person("p1", "Åsa", "Berg")])
    merged = merge([part("", s)], KEYS, DAY)
    assert merged.snapshot is s
    assert merged.failed == ()


def test_a_person_in_two_sources_is_one_person_with_both_roles() -> None:
    teacher_gr = Person("t-gr", "Eva", "Lund", eppns=("eva.lund@x.se",))
    teacher_gy = Person("t-gy", "Eva", "Lund", eppns=("EVA.LUND@x.se",))
    a = snap(GR, [teacher_gr], role=SchoolRoleType.TEACHER)
    b = snap(GY, [teacher_gy], role=SchoolRoleType.TEACHER)
    merged = merge([part("grund", a), part("gy", b)], KEYS, DAY)
    assert set(merged.snapshot.persons) == {"t-gr"}
    assert {(r.school_id, r.person_id) for r in merged.snapshot.school_roles} == {
        ("gr-1", "t-gr"),
        ("gy-1", "t-gr"),
    }
    assert merged.aliases == {("gy", "t-gy"): "t-gr"}
    assert merged.findings == ()


def test_differing_fields_are_a_finding_and_the_stricter_protection_holds() -> None:
    first = Person("p1", "Ali", "Khan", civic_no="h:1")
    second = Person("p2", "Alí", "Khan", civic_no="h:1", protection=Protection.CONFIDENTIAL)
    merged = merge([part("a", snap(GR, [first])), part("b", snap(GY, [second]))], KEYS, DAY)
    person = merged.snapshot.persons["p1"]
    assert person.given_name == "Ali"  # the first source's
    assert person.protection is Protection.CONFIDENTIAL  # the stricter of the two
    [f] = merged.findings
    assert f.code == "merge.person_conflict" and f.severity is Severity.WARNING
    assert "given_name" in f.message and "protection" in f.message
    assert "Alí" not in f.message  # fields are named, values are not


def test_a_person_matching_two_persons_is_left_out_and_held() -> None:
    a1 = Person("a1", "Bo", "Ek", emails=("bo@x.se",))
    a2 = Person("a2", "Bo", "Ek", eppns=("bo.ek@x.se",))
    b = Person("b1", "Bo", "Ek", emails=("bo@x.se",), eppns=("bo.ek@x.se",))
    merged = merge([part("a", snap(GR, [a1, a2])), part("b", snap(GY, [b]))], KEYS, DAY)
    assert set(merged.snapshot.persons) == {"a1", "a2"}
    assert "b1" in merged.snapshot.refused.persons
    assert [f.code for f in merged.findings] == ["merge.person_ambiguous"]


def test_schools_go_to_their_owner_and_the_rest_to_a_source_without_a_list() -> None:
    # both list both schools; gy owns the gymnasium by its code, grund takes what is left
    both_a = Snapshot({GR.id: GR, GY.id: GY}, {}, {}, (), (), DAY)
    g_gy = Group("g-gy", "NA21", GroupType.KLASS, "b-gy")
    g_gr = Group("g-gr", "7A", GroupType.KLASS, "b-gr")
    both_b = Snapshot(
        {
            "b-gr": School("b-gr", "Kvarnskolan", "11111111"),
            "b-gy": School("b-gy", "SG", "22222222"),
        },
        {},
        {g_gy.id: g_gy, g_gr.id: g_gr},
        (),
        (),
        DAY,
    )
    merged = merge([part("gy", both_b, ("22222222",)), part("grund", both_a)], KEYS, DAY)
    assert set(merged.snapshot.schools) == {"b-gy", "gr-1"}
    assert set(merged.snapshot.groups) == {"g-gy"}  # 7A's school belongs to grund
    assert merged.counts["gy"]["schools"] == 1 and merged.counts["grund"]["schools"] == 1


def test_a_school_listed_by_two_sources_without_a_claim_goes_to_the_first() -> None:
    other = School("x-gr", "Kvarnskolan", "11111111")
    merged = merge([part("a", snap(GR, [])), part("b", snap(other, []))], KEYS, DAY)
    assert set(merged.snapshot.schools) == {"gr-1"}
    assert [f.code for f in merged.findings] == ["merge.school_in_two_sources"]


def test_the_same_id_for_two_records_is_a_blocking_finding() -> None:
    a = snap(GR, [Person("p1", "Åsa", "Berg", eppns=("asa@x.se",))])
    b = snap(GY, [Person("p1", "Olle", "Ny", eppns=("olle@x.se",))])
    merged = merge([part("a", a), part("b", b)], KEYS, DAY)
    assert merged.snapshot.persons["p1"].given_name == "Åsa"
    [f] = merged.findings
    assert f.code == "merge.id_in_two_sources" and f.blocking
    assert "p1" in merged.snapshot.refused.persons  # held, not removed


def test_a_failed_source_gives_nothing_and_holds_removals() -> None:
    a = snap(GR, [Person("p1", "Åsa", "Berg")])
    merged = merge(
        [part("a", a), SourcePart("b", None, ("22222222",), "cannot open export.xml")], KEYS, DAY
    )
    assert merged.failed == ("b",) and merged.hold_removals
    assert set(merged.snapshot.persons) == {"p1"}
    [f] = merged.findings
    assert f.code == "merge.source_failed" and "export.xml" in f.message


def test_an_alias_keeps_the_merged_id_while_its_source_is_away() -> None:
    b = snap(GY, [Person("t-gy", "Eva", "Lund", eppns=("eva@x.se",))])
    merged = merge(
        [SourcePart("grund", None, (), "down"), part("gy", b)],
        KEYS,
        DAY,
        {("gy", "t-gy"): "t-gr"},
    )
    assert set(merged.snapshot.persons) == {"t-gr"}
    assert merged.snapshot.persons["t-gr"].given_name == "Eva"
    assert {r.person_id for r in merged.snapshot.school_roles} == {"t-gr"}
