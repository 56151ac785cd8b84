"""Mapping SS 12000 objects into the model: Skolverket's samples, roles, dates and the findings
that bad objects become."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ss12000_helpers import AS_OF

from adapters.ss12000.mapping import map_records
from engine.civic_hash import KeyedCivicHash
from engine.findings import Severity
from engine.model import GroupType, MemberRole, Protection, SchoolRoleType
from engine.secrets import Secret

# the read-only reference material sits beside the project, at ../shared
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "specs" / "ss12000" / "samples"

UNIT = "b60a032a-afbc-595c-b167-b8b767be0e23"
SKOLA = "11111111-0000-4000-8000-000000000001"
UNIT2 = "11111111-0000-4000-8000-000000000002"
CIVIC = "200112240129"
KEYED = KeyedCivicHash(Secret("env:TEST_KEY", "a test key of some length"))


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / name).read_bytes())


def unit(uid: str = UNIT, parent: str | None = None, types: tuple[str, ...] = ("GR",)) -> Any:
    rec: dict[str, Any] = {
        "id": uid,
        "displayName": f"Unit {uid[-2:]}",
        "organisationType": "Skolenhet",
        "schoolUnitCode": "12345678",
        "schoolTypes": list(types),
    }
    if parent:
        rec["parentOrganisation"] = {"id": parent}
    return rec


def test_skolverket_samples_map_into_the_model() -> None:
    person = sample("person.json")
    person["enrolments"][0]["enroledAt"]["id"] = UNIT
    group = sample("group_json.json")
    group["groupMemberships"][0]["person"]["id"] = person["id"]
    activity = sample("activity.json")
    activity["groups"] = [{"id": group["id"]}]
    duty = {
        "id": activity["teachers"][0]["duty"]["id"],
        "person": {"id": "teacher-1"},
        "dutyAt": {"id": UNIT},
        "dutyRole": "Lärare",
    }
    teacher = {"id": "teacher-1", "givenName": "T", "familyName": "Eacher"}
    result = map_records(
        {
            "organisations": [unit()],
            "persons": [person, teacher],
            "duties": [duty],
            "groups": [group],
            "activities": [activity, *sample("activities_invalid.json")["activities"]],
        },
        AS_OF,
        civic_hash=KEYED,
    )
    snap = result.snapshot
    p = snap.persons[person["id"]]
    assert (p.given_name, p.family_name, p.middle_name) == (
        "Given Name Test",
        "Family Name Test",
        "Middle Name Test",
    )
    assert p.eppns == ("elev1@soderhavetsgymnasium.se",)
    assert p.civic_no == KEYED(CIVIC) != CIVIC  # kept only as its keyed hash
    assert CIVIC not in repr(p)
    assert snap.groups[group["id"]].group_type is GroupType.UNDERVISNING
    assert snap.groups[group["id"]].school_id == UNIT
    roles = {(m.person_id, m.role) for m in snap.memberships}
    assert roles == {(person["id"], MemberRole.STUDENT), ("teacher-1", MemberRole.TEACHER)}
    student = next(r for r in snap.school_roles if r.person_id == person["id"])
    assert (student.role, student.school_year) == (SchoolRoleType.STUDENT, 1)
    staff = next(r for r in snap.school_roles if r.person_id == "teacher-1")
    assert (staff.role, staff.title) == (SchoolRoleType.TEACHER, "Lärare")
    # activities_invalid.json: its id is a list; one blocking finding, no crash
    [finding] = result.findings
    assert finding.severity is Severity.BLOCKING
    assert finding.record_type == "activity"
    assert "id" in finding.message


def test_edlevo_groups_and_duties_on_a_skola_find_their_school_unit() -> None:
    skola = {"id": SKOLA, "displayName": "Skolan", "organisationType": "Skola"}
    pupils = [
        {
            "id": f"p{i}",
            "givenName": "P",
            "familyName": str(i),
            "enrolments": [{"enroledAt": {"id": UNIT2}, "schoolType": "GR", "schoolYear": 4}],
        }
        for i in range(3)
    ]
    group = {
        "id": "g1",
        "displayName": "4A",
        "groupType": "Klass",
        "schoolType": "GR",
        "organisation": {"id": SKOLA},
        "groupMemberships": [{"person": {"id": p["id"]}} for p in pupils],
    }
    duty = {
        "id": "d1",
        "person": {"id": "t1"},
        "dutyAt": {"id": SKOLA},
        "dutyRole": "Rektor",
        "assignmentRole": [{"group": {"id": "g1"}, "assignmentRoleType": "Mentor"}],
    }
    result = map_records(
        {
            "organisations": [skola, unit(UNIT, SKOLA), unit(UNIT2, SKOLA)],
            "persons": [*pupils, {"id": "t1", "givenName": "R", "familyName": "Ektor"}],
            "duties": [duty],
            "groups": [group],
        },
        AS_OF,
    )
    snap = result.snapshot
    # both units teach GR: the students' enrolments pick the unit
    assert snap.groups["g1"].school_id == UNIT2
    staff = {(r.school_id, r.role, r.title) for r in snap.school_roles if r.person_id == "t1"}
    assert staff == {
        (UNIT, SchoolRoleType.STAFF, "Rektor"),
        (UNIT2, SchoolRoleType.STAFF, "Rektor"),
    }
    assert ("g1", "t1", MemberRole.MENTOR) in {(*m.key[:2], m.role) for m in snap.memberships}
    assert result.findings == ()


def test_dates_are_kept_and_cancelled_enrolments_skipped() -> None:
    person = {
        "id": "p1",
        "givenName": "A",
        "familyName": "B",
        "securityMarking": "Skyddad folkbokföring",
        "emails": [
            {"value": "a@skolan.se", "type": "Skola elev"},
            {"value": "a@privat.se", "type": "Privat"},
        ],
        "externalIdentifiers": [
            {"value": CIVIC, "context": "urn:x", "globallyUnique": True},
            {"value": "abc", "context": "urn:ad", "globallyUnique": True},
        ],
        "civicNo": {"value": CIVIC},
        "enrolments": [
            {"enroledAt": {"id": UNIT}, "schoolType": "GR", "schoolYear": 5, "cancelled": True},
            {
                "enroledAt": {"id": UNIT2},
                "schoolType": "GR",
                "schoolYear": 6,
                "startDate": "2025-08-18",
                "endDate": "2026-06-12",
            },
        ],
    }
    group = {
        "id": "g1",
        "displayName": "6A",
        "groupType": "Klass",
        "organisation": {"id": UNIT2},
        "groupMemberships": [
            {"person": {"id": "p1"}, "startDate": "2025-08-18", "endDate": "2025-12-20"}
        ],
    }
    result = map_records(
        {"organisations": [unit(), unit(UNIT2)], "persons": [person], "groups": [group]}, AS_OF
    )
    snap = result.snapshot
    [role] = snap.school_roles
    assert (role.school_id, role.school_year) == (UNIT2, 6)
    assert (role.start, role.end) == (date(2025, 8, 18), date(2026, 6, 12))
    [member] = snap.memberships
    assert (member.start, member.end) == (date(2025, 8, 18), date(2025, 12, 20))
    p = snap.persons["p1"]
    assert p.protection is Protection.PROTECTED_REGISTRATION
    assert p.emails == ("a@skolan.se",)
    assert p.external_ids == (("urn:ad", "abc"),)  # the personnummer look-alike is dropped
    assert snap.as_of == AS_OF


BASE: dict[str, Any] = {
    "persons": {"id": "p1", "givenName": "A", "familyName": "B", "civicNo": {"value": CIVIC}},
    "groups": {
        "id": "g1",
        "displayName": "1A",
        "groupType": "Klass",
        "organisation": {"id": UNIT},
    },
    "duties": {"id": "d1", "person": {"id": "p1"}, "dutyAt": {"id": UNIT}, "dutyRole": "Lärare"},
    "organisations": unit(UNIT2),
}


@pytest.mark.parametrize("current_first", [True, False])
def test_enrolments_at_one_unit_merge_and_the_current_one_gives_the_year(
    current_first: bool,
) -> None:
    past = {"schoolYear": 5, "startDate": "2023-08-15", "endDate": "2024-06-10"}
    now = {"schoolYear": 4, "startDate": "2024-08-15"}
    later = {"schoolYear": 7, "startDate": "2099-08-15", "endDate": "2100-06-10"}
    enrols = [now, past, later] if current_first else [past, later, now]
    person = {
        "id": "p1",
        "givenName": "A",
        "familyName": "B",
        "enrolments": [{"enroledAt": {"id": UNIT}, "schoolType": "GR", **e} for e in enrols],
    }
    result = map_records({"organisations": [unit()], "persons": [person]}, AS_OF)
    [role] = result.snapshot.school_roles
    assert (role.start, role.end, role.school_year) == (date(2023, 8, 15), None, 4)


@pytest.mark.parametrize(
    ("entity", "change", "field", "code"),
    [
        ("persons", {"givenName": None}, "givenName", "ss12000.invalid_record"),
        ("persons", {"familyName": 42}, "familyName", "ss12000.invalid_record"),
        ("persons", {"securityMarking": "Hemlig"}, "securityMarking", "ss12000.unknown_value"),
        (
            "persons",
            {"civicNo": {"value": 200112240129}},
            "civicNo.value",
            "ss12000.invalid_record",
        ),
        (
            "persons",
            {"enrolments": [{"enroledAt": {"id": UNIT}, "schoolType": "XX"}]},
            "enrolments[0].schoolType",
            "ss12000.unknown_value",
        ),
        (
            "persons",
            {"enrolments": [{"enroledAt": {"id": UNIT}, "schoolType": "GR", "schoolYear": 14}]},
            "enrolments[0].schoolYear",
            "ss12000.invalid_record",
        ),
        (
            "persons",
            {"enrolments": [{"enroledAt": {}, "schoolType": "GR"}]},
            "enrolments[0].enroledAt.id",
            "ss12000.invalid_record",
        ),
        (
            "persons",
            {"enrolments": [{"enroledAt": {"id": UNIT}, "schoolType": "GR", "endDate": "x"}]},
            "enrolments[0].endDate",
            "ss12000.invalid_record",
        ),
        (
            "persons",
            {"emails": [{"value": "a@b.example", "type": "Hem"}]},
            "emails[0].type",
            "ss12000.unknown_value",
        ),
        (
            "groups",
            {"groupMemberships": [{"person": {"id": "p1"}, "startDate": "2025-02-30"}]},
            "groupMemberships[0].startDate",
            "ss12000.invalid_record",
        ),
        (
            "groups",
            {
                "groupMemberships": [
                    {"person": {"id": "p1"}, "endDate": "2025-06-30"},
                    {"person": {"id": "p2"}, "endDate": "2025-06-31"},
                ]
            },
            "groupMemberships[1].endDate",
            "ss12000.invalid_record",
        ),
        ("groups", {"groupType": "Okänd"}, "groupType", "ss12000.unknown_value"),
        ("groups", {"organisation": "nope"}, "organisation", "ss12000.invalid_record"),
        (
            "groups",
            {"groupMemberships": [{"person": {}}]},
            "groupMemberships[0].person.id",
            "ss12000.invalid_record",
        ),
        ("groups", {"startDate": "2025-13-45"}, "startDate", "ss12000.invalid_record"),
        ("duties", {"dutyRole": "Trollkarl"}, "dutyRole", "ss12000.unknown_value"),
        ("duties", {"person": None}, "person", "ss12000.invalid_record"),
        (
            "organisations",
            {"organisationType": "Slott"},
            "organisationType",
            "ss12000.unknown_value",
        ),
    ],
)
def test_a_broken_object_is_one_blocking_finding(
    entity: str, change: dict[str, Any], field: str, code: str
) -> None:
    records = {e: [copy.deepcopy(r)] for e, r in BASE.items()}
    records["organisations"].append(unit())
    records[entity][0].update(change)
    result = map_records(records, AS_OF)
    blocking = [f for f in result.findings if f.blocking]
    [finding] = blocking
    rid = BASE[entity]["id"]
    assert finding.code == code
    assert finding.record_id == rid
    assert finding.record_type == {"persons": "person", "groups": "group", "duties": "duty"}.get(
        entity, "organisation"
    )
    assert f"{rid}: {field} " in finding.message
    assert CIVIC not in finding.message
    assert CIVIC not in finding.fix
    # the broken record is left out; the rest is kept
    kept = {
        "persons": result.snapshot.persons,
        "groups": result.snapshot.groups,
        "organisations": result.snapshot.schools,
    }.get(entity)
    if kept is not None:
        assert rid not in kept


def test_a_non_object_record_is_a_finding_not_a_crash() -> None:
    result = map_records({"persons": ["just a string", None, 7]}, AS_OF)
    assert len(result.findings) == 3
    assert all(f.blocking and f.record_type == "person" for f in result.findings)
    assert result.findings[0].record_id == "persons item 1"
    assert result.snapshot.persons == {}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = [
    "id",
    "displayName",
    "givenName",
    "familyName",
    "organisation",
    "groupType",
    "schoolType",
    "groupMemberships",
    "enrolments",
    "dutyRole",
    "dutyAt",
    "person",
    "assignmentRole",
    "groups",
    "teachers",
    "startDate",
    "endDate",
    "emails",
    "securityMarking",
    "civicNo",
    "organisationType",
    "parentOrganisation",
    "schoolTypes",
    "externalIdentifiers",
]


@settings(max_examples=150, deadline=None)
@given(
    entity=st.sampled_from(["organisations", "persons", "duties", "groups", "activities"]),
    changes=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4),
)
def test_any_shape_of_object_gives_findings_never_an_exception(
    entity: str, changes: dict[str, Any]
) -> None:
    records = {e: [copy.deepcopy(r)] for e, r in BASE.items()}
    records["organisations"].append(unit())
    records.setdefault(entity, [{"id": "x"}])[0].update(changes)
    result = map_records(records, AS_OF)
    assert all(CIVIC not in f.message for f in result.findings)
