"""Desired state from a small hand-built snapshot: names, school year, policy, group types."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from ms_support import G_KLASS, G_MENTOR, G_UND, S1, S2, T1, T2, pid, small_snapshot
from pydantic import ValidationError

from adapters.kit.naming import unique_names
from adapters.kit.schoolyear import SchoolYear, term_label
from adapters.microsoft.config import MicrosoftConfig
from adapters.microsoft.mapping import desired_state
from adapters.microsoft.naming import clean_nickname
from adapters.microsoft.target import kind_specs
from engine.config import TenantPolicy
from engine.roster import RosterPolicy
from engine.target import DesiredState, attrs_fingerprint, attrs_of


def config(**changes: Any) -> MicrosoftConfig:
    base: dict[str, Any] = {
        "type": "microsoft",
        "tenant_id": "t",
        "client_id": "c",
        "client_secret": "env:X",
        "domain": "skola.example",
    }
    base.update(changes)
    return MicrosoftConfig.model_validate(base)


def attrs(state: DesiredState, kind: str, key: str) -> dict[str, Any]:
    return dict(state.objects[kind][key].attrs)


def test_users_get_template_names_roles_and_no_civic_number() -> None:
    snap = small_snapshot()
    state = desired_state(snap, config(), RosterPolicy())
    teacher = attrs(state, "user", T1)
    assert teacher["userPrincipalName"] == "asa.oberg@skola.example"
    assert teacher["displayName"] == "Åsa Öberg"
    assert teacher["primaryRole"] == "teacher"
    assert teacher["usageLocation"] == "SE"
    assert teacher["externalId"] == T1
    assert attrs(state, "user", pid(3))["primaryRole"] == "student"
    # no personnummer in any attribute, label or finding of the desired state
    text = repr(state)
    for person in snap.persons.values():
        assert person.civic_no
        assert person.civic_no not in text


def test_namesakes_get_distinct_account_names_by_source_id() -> None:
    state = desired_state(small_snapshot(), config(), RosterPolicy())
    first, second = attrs(state, "user", pid(1)), attrs(state, "user", pid(2))
    assert first["userPrincipalName"] == "anna.svensson@skola.example"  # the lower id keeps it
    assert second["userPrincipalName"] == "anna.svensson2@skola.example"
    assert first["mailNickname"] != second["mailNickname"]
    assert unique_names({"b": "x", "a": "x", "c": "x2"}) == {"a": "x", "b": "x3", "c": "x2"}


def test_classes_carry_the_school_year_so_next_year_never_collides() -> None:
    state = desired_state(small_snapshot(), config(), RosterPolicy())
    klass = attrs(state, "class", G_KLASS)
    assert klass["displayName"] == "7A 2024/25"
    assert klass["mailNickname"] == "c-2425-9a000000"
    assert klass["externalId"] == G_KLASS
    assert klass["externalSource"] == "sis"
    assert klass["externalName"] == "7A"
    assert dict(klass["term"])["startDate"] == "2024-08-15"
    # two groups whose short ids collide still get distinct nicknames
    und = attrs(state, "class", G_UND)
    assert und["mailNickname"] != klass["mailNickname"]
    # the same group name next school year gets another name and nickname
    snap = small_snapshot()
    next_year = replace(
        snap.groups[G_KLASS],
        id="9b000000-0000-4000-8000-0000000000aa",
        start=date(2025, 8, 15),
        end=date(2026, 6, 15),
    )
    snap2 = replace(snap, groups={next_year.id: next_year}, as_of=date(2025, 9, 1))
    later = attrs(desired_state(snap2, config(), RosterPolicy()), "class", next_year.id)
    assert later["displayName"] == "7A 2025/26"
    assert later["mailNickname"] != klass["mailNickname"]
    assert SchoolYear.of(date(2025, 3, 1)).label == "2024/25"
    assert term_label(date(2025, 3, 1)) == "VT25"


def test_templates_are_configurable_and_checked() -> None:
    cfg = config(
        class_name_template="{school_code} {name} {term}",
        class_mail_template="{school_year_short}_{name}",
        upn_template="{given}{family}.{id8}@{domain}",
    )
    state = desired_state(small_snapshot(), cfg, RosterPolicy())
    klass = attrs(state, "class", G_KLASS)
    assert klass["displayName"] == "12345678 7A HT24"
    assert klass["mailNickname"] == "2425_7a"
    assert attrs(state, "user", T2)["userPrincipalName"] == "perlind.7e000000@skola.example"
    with pytest.raises(ValidationError, match="unknown placeholder"):
        config(class_name_template="{name} {year}")
    assert clean_nickname("Åk 7/B Matte!") == "ak-7b-matte"


def test_group_types_select_classes_and_teams_follow_classes() -> None:
    snap = small_snapshot()
    state = desired_state(snap, config(), RosterPolicy(group_types=("Klass",)))
    assert set(state.objects["class"]) == {G_KLASS}
    assert set(state.objects["team"]) == {G_KLASS}
    state = desired_state(snap, config(), RosterPolicy(group_types=("Klass", "Mentor")))
    assert set(state.objects["class"]) == {G_KLASS, G_MENTOR}
    no_teams = desired_state(snap, config(create_teams=False), RosterPolicy())
    assert "team" not in no_teams.objects


def test_links_split_students_and_teachers() -> None:
    state = desired_state(small_snapshot(), config(), RosterPolicy())
    assert (G_KLASS, T1) in state.links["class.teacher"]  # a mentor is a teacher of the class
    assert (G_KLASS, T1) not in state.links["class.member"]
    assert (G_UND, pid(1)) in state.links["class.member"]
    assert (S1, pid(1)) in state.links["school.user"]
    assert (S1, G_KLASS) in state.links["school.class"]
    assert set(state.objects["school"]) == {S1, S2}
    assert attrs(state, "school", S1)["schoolNumber"] == "12345678"


@pytest.mark.parametrize("mode", ["exclude", "mask", "include"])
def test_protected_identity_policy(mode: str) -> None:
    snap = small_snapshot()
    protected = snap.persons[pid(6)]
    state = desired_state(snap, config(), RosterPolicy(protected_identity=mode))
    users = state.objects["user"]
    if mode == "exclude":
        assert pid(6) not in users
        assert all(pid(6) not in pair for pair in state.links["class.member"])
        return
    a = dict(users[pid(6)].attrs)
    if mode == "mask":
        text = repr(users[pid(6)])
        assert protected.given_name not in text
        assert protected.family_name.lower() not in text
        assert a["displayName"].startswith("Elev ")
        assert "givenName" not in a
        assert "surname" not in a
        assert a["userPrincipalName"].startswith("u")
    else:
        assert a["displayName"] == "Elin Dal"


def test_ended_groups_are_not_desired() -> None:
    snap = small_snapshot()
    ended = replace(snap.groups[G_UND], end=date(2024, 8, 31))
    snap = replace(snap, groups={**snap.groups, G_UND: ended})
    state = desired_state(snap, config(), RosterPolicy())
    assert G_UND not in state.objects["class"]


def test_a_class_without_teacher_gives_a_finding() -> None:
    snap = small_snapshot()
    snap = replace(snap, memberships=tuple(m for m in snap.memberships if m.person_id != T2))
    state = desired_state(snap, config(), RosterPolicy())
    assert [f.record_id for f in state.findings] == [G_UND]
    assert state.findings[0].code == "class_without_teacher"


def test_kinds_follow_policy() -> None:
    kinds = {k.name: k for k in kind_specs(config(), TenantPolicy(suspend_grace_days=14))}
    assert kinds["user"].retire == "suspend"
    assert kinds["user"].grace_days == 14
    assert kinds["class"].retire == "archive"
    assert kinds["team"].retire == "archive"
    assert kinds["team"].depends_on == ("class",)
    assert [k.rank for k in kind_specs(config(), TenantPolicy())] == [1, 2, 3, 4]
    kinds = {k.name: k for k in kind_specs(config(), TenantPolicy(class_end="delete"))}
    assert kinds["class"].retire == "delete"
    kinds = {k.name: k for k in kind_specs(config(team_archive_on_end=False), TenantPolicy())}
    assert kinds["team"].retire == "keep"


def test_config_problems_are_named() -> None:
    with pytest.raises(ValidationError, match="exactly one credential"):
        config(certificate_path="x.pem")
    with pytest.raises(ValidationError, match="secret must be a reference"):
        config(client_secret="hunter2")
    with pytest.raises(ValidationError, match="https"):
        config(authority="http://127.0.0.1:1/t")
    with pytest.raises(ValidationError, match="Extra inputs"):
        config(colour="blue")
    assert config().authority_url == "https://login.microsoftonline.com/t"
    assert not config().custom_authority


@pytest.mark.parametrize(
    ("changes", "mode"),
    [
        ({}, "mask"),
        ({"match_on": "mail", "student_license_sku": "S-SKU"}, "include"),
        ({"match_on": "employeeId", "teacher_license_sku": "T-SKU"}, "mask"),
        ({"usage_location": "NO"}, "exclude"),
    ],
)
def test_attributes_are_in_their_frozen_form(changes: dict[str, Any], mode: str) -> None:
    """Users' attributes are written out in key order by hand (for speed); they must equal
    what attrs_of makes of the same values, or fingerprints would differ between paths."""
    state = desired_state(
        small_snapshot(), config(**changes), RosterPolicy(protected_identity=mode)
    )
    for kind in ("school", "user", "class", "team"):
        for obj in state.objects[kind].values():
            assert obj.attrs == attrs_of(dict(obj.attrs))
            assert None not in dict(obj.attrs).values()
            assert obj.fingerprint == attrs_fingerprint(obj.attrs)
    users = [dict(u.attrs) for u in state.objects["user"].values()]
    if changes.get("match_on") == "mail":
        assert any("mail" in u for u in users)
    if changes.get("match_on") == "employeeId":
        assert all("employeeId" in u for u in users)
    if changes.get("student_license_sku"):
        assert any(u.get("licenseSku") == "S-SKU" for u in users)
    assert all(u["usageLocation"] == changes.get("usage_location", "SE") for u in users)
    for u in users:
        assert u["mailNickname"] == clean_nickname(u["userPrincipalName"].split("@")[0])
