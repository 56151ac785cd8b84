"""OneRoster delta packages: a folder of packages (a bulk package, then deltas) is read in
name order; a delta changes rows by sourcedId, ``tobedeleted`` takes a row away, a delete of
what no package before holds is a finding that removes nothing, and a delta row older than
the row it would replace leaves the newer row standing."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

from oneroster_helpers import FILES, read_path, write_package

USERS, ENROLLMENTS = FILES["users.csv"][0], FILES["enrollments.csv"][0]


def manifest(**files: str) -> list[list[str]]:
    return [["propertyName", "value"], ["oneroster.version", "1.2"]] + [
        [f"file.{name}", mode] for name, mode in files.items()
    ]


def user(rid: str, given: str, status: str = "", modified: str = "") -> list[str]:
    row = [rid, status, modified, "true", given.lower(), "", given, "Ny", "", "", "", "", ""]
    return [*row, "", "07", "", "", "", "", "", "", "S1", ""]


def write_delta(folder: Path, files: dict[str, list[list[str]]], modes: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, rows in {**files, "manifest.csv": manifest(**modes)}.items():
        with (folder / name).open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
    return folder


def test_a_delta_adds_updates_and_deletes_after_the_bulk_package(tmp_path: Path) -> None:
    write_package(tmp_path / "0001-bulk")
    write_delta(
        tmp_path / "0002-delta",
        {
            "users.csv": [USERS, user("U3", "Cleo"), user("U2", "Bosse")],
            "enrollments.csv": [
                ENROLLMENTS,
                ["E5", "", "", "C1", "S1", "U3", "student", "false", "", ""],
                ["E2", "tobedeleted", "", "C1", "S1", "U2", "student", "false", "", ""],
            ],
        },
        {"users": "delta", "enrollments": "delta", "orgs": "absent", "roles": "absent"},
    )
    read = read_path(tmp_path)
    snap = read.snapshot
    assert snap.persons["U2"].given_name == "Bosse"  # updated
    assert "U3" in snap.persons and "U1" in snap.persons  # added; kept
    members = {(m.group_id, m.person_id) for m in snap.memberships}
    assert ("C1", "U3") in members and ("C1", "U2") not in members and ("C1", "U1") in members
    assert set(snap.schools) == {"S1"}  # orgs absent from the delta: as the bulk said
    assert not [f for f in read.findings if f.code != "oneroster.header"]


def test_a_delete_of_what_was_never_added_is_a_finding_and_removes_nothing(
    tmp_path: Path,
) -> None:
    write_package(tmp_path / "0001-bulk")
    write_delta(
        tmp_path / "0002-delta",
        {"users.csv": [USERS, user("U9", "Nobody", status="tobedeleted")]},
        {"users": "delta"},
    )
    read = read_path(tmp_path)
    found = [f for f in read.findings if f.code == "oneroster.delete_unknown"]
    assert [f.record_id for f in found] == ["U9"]
    assert "line 2" in found[0].message and "nothing is removed" in found[0].message
    assert set(read.snapshot.persons) == {"U1", "U2", "T1"}


def test_an_older_delta_row_leaves_the_newer_row_standing(tmp_path: Path) -> None:
    bulk = write_package(tmp_path / "0001-bulk")
    rows = [USERS, *FILES["users.csv"][1:]]
    rows[2] = user("U2", "Bo", modified="2025-09-10T08:00:00Z")
    write_package(bulk, {"users.csv": rows})
    write_delta(
        tmp_path / "0002-delta",
        {"users.csv": [USERS, user("U2", "Gammal", modified="2025-09-01T08:00:00Z")]},
        {"users": "delta"},
    )
    read = read_path(tmp_path)
    assert read.snapshot.persons["U2"].given_name == "Bo"
    assert [f.record_id for f in read.findings if f.code == "oneroster.stale_row"] == ["U2"]


def test_a_later_bulk_package_takes_the_place_of_what_came_before(tmp_path: Path) -> None:
    write_package(tmp_path / "0001-bulk")
    write_delta(
        tmp_path / "0002-delta", {"users.csv": [USERS, user("U3", "Cleo")]}, {"users": "delta"}
    )
    third = write_package(tmp_path / "0003-bulk")
    archive = tmp_path / "0003-bulk.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in FILES:
            zf.write(third / name, name)
    for f in third.iterdir():
        f.unlink()
    third.rmdir()
    read = read_path(tmp_path)
    assert set(read.snapshot.persons) == {"U1", "U2", "T1"}  # U3 came only in the delta


def test_a_delta_package_first_is_a_warning(tmp_path: Path) -> None:
    package = write_package(tmp_path / "p")
    (package / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.2\nfile.users,delta\n", encoding="utf-8"
    )
    read = read_path(package)
    assert [f.code for f in read.findings if f.code == "oneroster.delta_first"] == [
        "oneroster.delta_first"
    ]
    assert set(read.snapshot.persons) == {"U1", "U2", "T1"}


def test_a_row_twice_in_one_delta_file_is_refused(tmp_path: Path) -> None:
    write_package(tmp_path / "0001-bulk")
    write_delta(
        tmp_path / "0002-delta",
        {"users.csv": [USERS, user("U2", "Bosse"), user("U2", "Berra")]},
        {"users": "delta"},
    )
    read = read_path(tmp_path)
    dup = [f for f in read.findings if f.code == "oneroster.duplicate_id"]
    assert [f.record_id for f in dup] == ["U2"] and "U2" not in read.snapshot.persons
    assert "U2" in read.snapshot.refused.persons
