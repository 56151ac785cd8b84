"""An IMS Enterprise export with the TK450 extension, mapped to the model: schools, groups,
persons, memberships and school roles; findings, never a crash, for what the model cannot
hold; deltas by recstatus."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ims_helpers import (
    document,
    group,
    member,
    membership,
    person,
    read_path,
    school_file,
    write,
)

from engine.findings import Severity
from engine.model import GroupType, MemberRole, Protection, SchoolRoleType


def test_a_tk450_export_maps_to_schools_groups_persons_and_roles(tmp_path: Path) -> None:
    read = read_path(write(tmp_path, "org.xml", school_file()))
    snap = read.snapshot
    school = snap.schools["U1"]
    assert (school.name, school.school_unit_code, school.school_types) == (
        "Ekskolan",
        "12345678",
        ("GR",),
    )
    assert set(snap.groups) == {"C1", "E1"}  # the contact group is no group ESS syncs
    assert snap.groups["C1"].group_type is GroupType.KLASS
    assert snap.groups["E1"].group_type is GroupType.UNDERVISNING
    assert snap.groups["E1"].subject == "GRGRMAT01"
    assert snap.groups["E1"].school_id == "U1"
    assert snap.groups["C1"].start == date(2025, 8, 1)
    assert {(m.group_id, m.person_id, m.role) for m in snap.memberships} == {
        ("C1", "P1", MemberRole.STUDENT),
        ("C1", "P2", MemberRole.STUDENT),
        ("C1", "T1", MemberRole.TEACHER),
        ("E1", "P1", MemberRole.STUDENT),
        ("E1", "T1", MemberRole.TEACHER),
    }
    roles = {(r.person_id, r.role, r.school_year) for r in snap.school_roles}
    assert roles == {
        ("P1", SchoolRoleType.STUDENT, 7),
        ("P2", SchoolRoleType.STUDENT, 7),
        ("T1", SchoolRoleType.TEACHER, None),
    }
    teacher = snap.persons["T1"]
    assert teacher.emails == ("cay.lind@skola.example",)
    assert teacher.civic_no == "197003039874"  # kept for matching only
    assert "197003039874" not in repr(teacher)
    assert read.findings == ()


def test_protected_identity_in_tk450_text_and_in_tietos_boolean_with_a_level(
    tmp_path: Path,
) -> None:
    v12 = (
        "<person><sourcedid><id>{id}</id></sourcedid><name><fn>A B</fn><n><family>B</family>"
        "<given>A</given></n></name><extension>{privacy}</extension></person>"
    )
    text = document(
        person("P1", privacy="Skyddad folkbokföring"),
        person("P2", privacy="Sekretessmarkering"),
        person("P3", privacy="None"),
        v12.format(id="P4", privacy='<privacy level="2">true</privacy>'),
        v12.format(id="P5", privacy='<privacy level="1">true</privacy>'),
        v12.format(id="P6", privacy="<privacy>false</privacy>"),
        person("P7", privacy="Hemlig"),
    )
    read = read_path(write(tmp_path, "p.xml", text))
    got = {k: p.protection for k, p in read.snapshot.persons.items()}
    assert got == {
        "P1": Protection.PROTECTED_REGISTRATION,
        "P2": Protection.CONFIDENTIAL,
        "P3": Protection.NONE,
        "P4": Protection.PROTECTED_REGISTRATION,
        "P5": Protection.CONFIDENTIAL,
        "P6": Protection.NONE,
    }
    # a value ESS does not know is never read as "not protected": the person is refused
    assert "P7" in read.snapshot.refused.persons
    (finding,) = [f for f in read.findings if f.record_id == "P7"]
    assert finding.blocking and "privacy" in finding.message and "Hemlig" in finding.message


def test_records_the_model_cannot_hold_are_refused_and_held_never_a_crash(
    tmp_path: Path,
) -> None:
    text = school_file(
        "<person><sourcedid><id>P9</id></sourcedid><name><fn></fn></name></person>",
        group("G9", "Class", "9Z"),  # listed by no unit
        group("G8", "Klassrum", "R1"),  # a type ESS does not know
        group("E2", "EducationGroup", "SV7"),
        membership("U1", member("E2", "EducationGroup", idtype="Group")),
        membership("E2", member("P1", "Student", begin="15/8 2025")),
    )
    read = read_path(write(tmp_path, "org.xml", text))
    refused = read.snapshot.refused
    assert refused.persons == {"P9"}
    assert refused.groups == {"G9", "G8", "E2"}
    blocking = {f.record_id: f for f in read.findings if f.severity is Severity.BLOCKING}
    assert set(blocking) == {"P9", "G9", "G8", "E2"}
    assert "name/n/given is missing" in blocking["P9"].message
    assert "listed by no school unit" in blocking["G9"].message
    assert "'Klassrum'" in blocking["G8"].message
    assert "15/8 2025" in blocking["E2"].message and "org.xml line" in blocking["E2"].message
    # what is fine stays
    assert {"C1", "E1"} <= set(read.snapshot.groups)
    assert "P1" in read.snapshot.persons
    # no personnummer in any message
    for f in read.findings:
        assert "201001019876" not in f.message + f.fix


def test_dangling_references_are_warnings(tmp_path: Path) -> None:
    text = school_file(
        membership("C1", member("NOBODY", "Student")),
        membership("NOGROUP", member("P1", "Student")),
    )
    read = read_path(write(tmp_path, "org.xml", text))
    codes = sorted((f.code, f.severity.value) for f in read.findings)
    assert codes == [("ims.dangling_reference", "warning")] * 2
    assert not read.snapshot.refused
    assert len(read.snapshot.memberships) == 5


def test_a_role_type_ess_does_not_know_holds_the_group_or_the_person(tmp_path: Path) -> None:
    """It may be a pupil under another name: leaving it out could remove her from the class."""
    text = school_file(
        membership("C1", member("P2", "Elev")),
        membership("U1", member("P1", "Vaktmästare")),
        membership("E1", member("P2", "Guardian")),  # a role ESS knows and leaves alone
    )
    read = read_path(write(tmp_path, "org.xml", text))
    assert read.snapshot.refused.groups == {"C1"}
    assert read.snapshot.refused.persons == {"P1"}
    messages = " ".join(f.message for f in read.findings if f.blocking)
    assert "'Elev'" in messages and "'Vaktmästare'" in messages
    assert "E1" in read.snapshot.groups


def test_an_id_listed_twice_in_one_file_is_refused_and_held(tmp_path: Path) -> None:
    """Which copy is right cannot be told: taking the later one could give a pupil another
    person's name. Both places are named; a later delta may list the id again."""
    text = school_file(person("P1", "Adina", "Berg"), group("E1", "EducationGroup", "X"))
    read = read_path(write(tmp_path, "0001.xml", text))
    assert "P1" not in read.snapshot.persons
    assert read.snapshot.refused.persons == {"P1"}
    assert read.snapshot.refused.groups == {"E1"}
    dup = {f.record_id: f for f in read.findings if f.code == "ims.duplicate_id"}
    assert set(dup) == {"P1", "E1"} and all(f.blocking for f in dup.values())
    assert "0001.xml line 8;" in dup["P1"].message and "2 times" in dup["P1"].message
    write(tmp_path, "0002.xml", document(person("P1", "Adina", "Berg"), kind="Delta"))
    again = read_path(tmp_path)  # the delta's copy is one copy in its file
    assert again.snapshot.persons["P1"].given_name == "Adina"


def test_a_delta_adds_updates_and_deletes_by_recstatus(tmp_path: Path) -> None:
    write(tmp_path, "0001-full.xml", school_file())
    delta = document(
        person("P2", recstatus="3"),
        person("P3", "Dag", "Ås", civic="201003039873", recstatus="1"),
        person("T1", "Cay", "Lindqvist", recstatus="2"),
        group("E1", "EducationGroup", "MA7", recstatus="3"),
        membership(
            "C1",
            member("P2", "Student", recstatus="3"),
            member("P3", "Student", recstatus="1"),
        ),
        membership("U1", member("P3", "Student", school_year="7", recstatus="1")),
        kind="Delta",
    )
    write(tmp_path, "0002-delta.xml", delta)
    read = read_path(tmp_path)
    snap = read.snapshot
    assert set(snap.persons) == {"P1", "P3", "T1"}
    assert snap.persons["T1"].family_name == "Lindqvist"
    assert set(snap.groups) == {"C1"}
    assert {(m.group_id, m.person_id) for m in snap.memberships} == {
        ("C1", "P1"),
        ("C1", "P3"),
        ("C1", "T1"),
    }
    assert ("U1", "P3") in {(r.school_id, r.person_id) for r in snap.school_roles}
    assert read.findings == ()  # the deleted pupil's other roles go with her, unremarked
    assert read.stats["files"] == 2 and read.stats["deletes"] == 3


def test_a_delete_of_what_was_never_added_is_a_warning_and_removes_nothing(
    tmp_path: Path,
) -> None:
    write(tmp_path, "0001-full.xml", school_file())
    write(
        tmp_path,
        "0002-delta.xml",
        document(
            person("GHOST", recstatus="3"),
            membership("C1", member("GHOST2", "Student", recstatus="3")),
            kind="Delta",
        ),
    )
    read = read_path(tmp_path)
    assert sorted(f.code for f in read.findings) == ["ims.delete_unknown", "ims.delete_unknown"]
    assert len(read.snapshot.persons) == 3 and len(read.snapshot.memberships) == 5


def test_a_later_complete_export_takes_the_place_of_what_came_before(tmp_path: Path) -> None:
    write(tmp_path, "0001-full.xml", school_file())
    write(tmp_path, "0002-delta.xml", document(person("P5", recstatus="1"), kind="Delta"))
    write(tmp_path, "0003-full.xml", school_file())
    assert "P5" not in read_path(tmp_path).snapshot.persons


def test_a_first_file_that_is_a_delta_is_a_warning(tmp_path: Path) -> None:
    read = read_path(write(tmp_path, "d.xml", school_file(kind="Delta")))
    assert [f.code for f in read.findings] == ["ims.delta_first"]
    assert len(read.snapshot.persons) == 3


def test_a_refused_school_holds_its_groups_and_its_people(tmp_path: Path) -> None:
    text = school_file().replace("<short>Ekskolan</short>", "<short></short>")
    read = read_path(write(tmp_path, "org.xml", text))
    refused = read.snapshot.refused
    assert refused.schools == {"U1"}
    assert refused.groups == {"C1", "E1"}
    assert refused.persons == {"P1", "P2", "T1"}
    assert not read.snapshot.groups and not read.snapshot.school_roles
