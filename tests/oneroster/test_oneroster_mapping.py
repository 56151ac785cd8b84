"""A OneRoster 1.2 bulk package mapped to the model as the SS 12000 source maps its records;
each problem a finding naming file, line and column, or one clear error for a file ESS
cannot read."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from oneroster_helpers import FILES, read_path, with_rows, write_package

from engine.model import GroupType, MemberRole, Protection, SchoolRoleType
from engine.source import SourceError


def test_a_bulk_package_maps_to_schools_classes_persons_and_roles(tmp_path: Path) -> None:
    read = read_path(write_package(tmp_path))
    snap = read.snapshot
    assert set(snap.schools) == {"S1"}  # the district is only a parent
    school = snap.schools["S1"]
    assert (school.name, school.school_unit_code, school.parent_id) == (
        "Ekskolan",
        "12345678",
        "D1",
    )
    assert snap.groups["C1"].group_type is GroupType.KLASS
    assert snap.groups["C2"].group_type is GroupType.UNDERVISNING
    assert snap.groups["C2"].subject == "GRGRMAT01"
    assert (snap.groups["C1"].start, snap.groups["C1"].end) == (
        date(2025, 8, 18),
        date(2026, 6, 12),
    )
    ada = snap.persons["U1"]
    assert ada.eppns == ("ada@ek.example",) and ada.external_ids == (("LDAP", "ab12"),)
    assert ada.emails == ("ada@ek.example",) and ada.protection is Protection.NONE
    assert {(r.person_id, r.role) for r in snap.school_roles} == {
        ("U1", SchoolRoleType.STUDENT),
        ("U2", SchoolRoleType.STUDENT),
        ("T1", SchoolRoleType.TEACHER),
    }  # a guardian role is not synced
    assert {(m.group_id, m.person_id, m.role) for m in snap.memberships} == {
        ("C1", "U1", MemberRole.STUDENT),
        ("C1", "U2", MemberRole.STUDENT),
        ("C1", "T1", MemberRole.TEACHER),
        ("C2", "U1", MemberRole.STUDENT),
    }
    assert read.findings == ()


def test_rows_ess_cannot_use_are_findings_naming_file_line_and_column(tmp_path: Path) -> None:
    changes = {
        **with_rows(
            "users.csv",
            ["U9", "", "", "true", "x", "", "", "Nils"] + [""] * 15,
            ["U1", "", "", "true", "ada2", "", "Ada", "Berg"] + [""] * 15,  # U1 again
        ),
        **with_rows(
            "classes.csv",
            ["C3", "", "", "8B", "", "", "", "lecture", "", "S1", "T1", "", "", ""],
            ["C4", "", "", "8C", "", "", "", "homeroom", "", "S404", "T1", "", "", ""],
        ),
        **with_rows(
            "enrollments.csv",
            ["E9", "", "", "C2", "S1", "U2", "student", "false", "9/1 2025", ""],
            ["E10", "", "", "C1", "S1", "NOBODY", "student", "false", "", ""],
        ),
    }
    read = read_path(write_package(tmp_path, changes))
    blocking = {f.record_id: f.message for f in read.findings if f.blocking}
    assert set(blocking) == {"U9", "U1", "C3", "C4", "C2"}
    assert "users.csv line 5, column givenName): is empty" in blocking["U9"]
    assert "2 times (line 2, line 6)" in blocking["U1"]
    assert "line 4, column classType): has the unknown value 'lecture'" in blocking["C3"]
    assert "S404" in blocking["C4"]
    assert "enrollments.csv line 6, column beginDate): is not a date" in blocking["C2"]
    refused = read.snapshot.refused
    assert refused.persons == {"U9", "U1"} and refused.groups == {"C3", "C4", "C2"}
    (dangling,) = [f for f in read.findings if f.code == "oneroster.dangling_reference"]
    assert "enrollments.csv line 7, column userSourcedId" in dangling.message


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"roles.csv": None}, "the package has no roles.csv"),
        (
            {"users.csv": [["sourcedId", "familyName"], ["U1", "Berg"]]},
            "users.csv line 1: the header has no column givenName",
        ),
        ({"orgs.csv": []}, "orgs.csv: the file is empty (no header row)"),
    ],
    ids=["missing-file", "missing-column", "empty"],
)
def test_a_package_ess_cannot_read_is_one_clear_error(
    tmp_path: Path, changes: dict[str, list[list[str]] | None], says: str
) -> None:
    with pytest.raises(SourceError) as caught:
        read_path(write_package(tmp_path, changes))
    assert says in str(caught.value)


def test_a_wrong_encoding_and_a_broken_quote_are_named(tmp_path: Path) -> None:
    folder = write_package(tmp_path)
    users = (folder / "users.csv").read_text(encoding="utf-8").replace("Berg", "Bärg")
    (folder / "users.csv").write_bytes(users.encode("latin-1"))
    with pytest.raises(SourceError, match=r"users\.csv near line \d+: not UTF-8"):
        read_path(folder)
    (folder / "users.csv").write_bytes(users.replace("Bärg", '"Bä"rg').encode())
    with pytest.raises(SourceError, match=r"users\.csv line \d+: not a CSV row"):
        read_path(folder)


def test_a_bom_is_read_and_a_zip_of_a_package_in_a_subfolder(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    orgs = folder / "orgs.csv"
    orgs.write_bytes(b"\xef\xbb\xbf" + orgs.read_bytes())
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in FILES:
            zf.write(folder / name, f"export/{name}")
    assert set(read_path(folder).snapshot.schools) == {"S1"}
    assert set(read_path(archive).snapshot.schools) == {"S1"}


def test_the_swedish_extension_columns_carry_protection_and_the_personnummer(
    tmp_path: Path,
) -> None:
    header = FILES["users.csv"][0] + ["metadata.se.protection", "metadata.se.civicNo"]
    rows = [[*r, "", ""] for r in FILES["users.csv"][1:]]
    rows[0][-2:] = ["Skyddad folkbokföring", "201001019876"]
    rows[1][-2:] = ["Hemlig", ""]
    read = read_path(write_package(tmp_path, {"users.csv": [header, *rows]}))
    ada = read.snapshot.persons["U1"]
    assert ada.protection is Protection.PROTECTED_REGISTRATION
    assert ada.civic_no == "201001019876" and "201001019876" not in repr(ada)
    assert "U2" in read.snapshot.refused.persons  # never read as "not protected"
    assert all("201001019876" not in f.message for f in read.findings)


def test_memberships_and_roles_hold_the_records_own_ids(tmp_path: Path) -> None:
    """Each id in a membership or school role is the very string its person, class or school
    is keyed by, so a large package keeps one copy of each id, not one per row."""
    snap = read_path(write_package(tmp_path)).snapshot
    persons = {pid: pid for pid in snap.persons}
    groups = {gid: gid for gid in snap.groups}
    schools = {sid: sid for sid in snap.schools}
    assert snap.memberships and snap.school_roles
    for m in snap.memberships:
        assert m.person_id is persons[m.person_id] and m.group_id is groups[m.group_id]
    for r in snap.school_roles:
        assert r.person_id is persons[r.person_id] and r.school_id is schools[r.school_id]
