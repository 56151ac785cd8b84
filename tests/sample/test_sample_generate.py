"""The generator: determinism, identities, organisation tree, dates and shapes."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from itertools import chain
from pathlib import Path

import pytest

from adapters.ss12000.sample.dataset import Dataset, write_dataset
from adapters.ss12000.sample.generate import SIZES, generate, size_spec
from adapters.ss12000.sample.integrity import dangling_references
from adapters.ss12000.sample.people import luhn_valid
from adapters.ss12000.sample.schoolyear import SchoolYear, school_year_of

AS_OF = date(2025, 9, 1)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _pupils(ds: Dataset) -> list[dict]:
    return [p for p in ds.entities["persons"] if p.get("enrolments")]


def _current_members(ds: Dataset) -> dict[str, list[str]]:
    today = ds.manifest.as_of.isoformat()
    return {
        g["id"]: [
            m["person"]["id"]
            for m in g["groupMemberships"]
            if m["startDate"] <= today <= m["endDate"]
        ]
        for g in ds.entities["groups"]
        if g["startDate"] <= today <= g["endDate"]
    }


# ---- determinism ----------------------------------------------------------------------------


def test_same_inputs_give_identical_bytes(tmp_path: Path):
    write_dataset(generate(400, 5, AS_OF), tmp_path / "a")
    write_dataset(generate(400, 5, AS_OF), tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_different_seed_gives_different_data():
    a, b = generate(400, 5, AS_OF), generate(400, 6, AS_OF)
    ids_a = {p["id"] for p in a.entities["persons"]}
    ids_b = {p["id"] for p in b.entities["persons"]}
    assert not ids_a & ids_b
    names_a = [(p["givenName"], p["familyName"]) for p in a.entities["persons"]]
    names_b = [(p["givenName"], p["familyName"]) for p in b.entities["persons"]]
    assert names_a != names_b


def test_sizes_and_numbers():
    assert size_spec("small")[1] == SIZES["small"]
    assert (SIZES["small"].schools, SIZES["small"].pupils) == (3, 600)
    assert (SIZES["large"].schools, SIZES["large"].pupils, SIZES["large"].staff) == (
        300,
        150_000,
        20_000,
    )
    assert size_spec("1200")[0] == "1200"
    for bad in ("huge", "0", "-5", ""):
        with pytest.raises(ValueError, match="size"):
            size_spec(bad)


@pytest.mark.parametrize("n", [100, 333, 600])
def test_n_means_exactly_n_pupils(n: int):
    ds = generate(n, 2, AS_OF)
    assert len(_pupils(ds)) == n
    assert ds.manifest.size == str(n)
    assert dangling_references(ds) == []


def test_small_has_its_schools_and_staff(small: Dataset):
    units = [o for o in small.entities["organisations"] if o["organisationType"] == "Skolenhet"]
    assert len(units) == 3
    assert len(_pupils(small)) == 600
    staff = {d["person"]["id"] for d in small.entities["duties"]}
    assert len(staff) == SIZES["small"].staff
    assert dangling_references(small) == []


# ---- objects --------------------------------------------------------------------------------


def test_ids_and_meta(small: Dataset):
    mark = "2025-09-01T06:00:00Z"
    seen: set[str] = set()
    for objs in small.entities.values():
        for o in objs:
            assert UUID.match(o["id"])
            assert o["meta"] == {"created": mark, "modified": mark}
            seen.add(o["id"])
    total = sum(len(v) for v in small.entities.values())
    assert len(seen) == total


def test_organisation_tree(town2000: Dataset):
    orgs = {o["id"]: o for o in town2000.entities["organisations"]}
    tops = [o for o in orgs.values() if o["organisationType"] == "Huvudman"]
    assert len(tops) == 1
    assert re.fullmatch(r"\d{4}", tops[0]["municipalityCode"])
    units = [o for o in orgs.values() if o["organisationType"] == "Skolenhet"]
    codes = [u["schoolUnitCode"] for u in units]
    assert all(re.fullmatch(r"\d{8}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    for o in orgs.values():
        if o["organisationType"] != "Skolenhet":
            assert "schoolUnitCode" not in o
        chain, at = [], o
        while "parentOrganisation" in at:
            at = orgs[at["parentOrganisation"]["id"]]
            chain.append(at["organisationType"])
        assert at is tops[0]
        assert chain in ([], ["Huvudman"], ["Skola", "Huvudman"])
    kinds = Counter(t for u in units for t in u["schoolTypes"])
    assert kinds["GR"] > kinds["GY"] >= 1
    assert all(u["displayName"].endswith(("skolan", "gymnasium", "gymnasiet")) or " " in
               u["displayName"] for u in units)  # fmt: skip


def test_some_units_sit_under_a_skola(town2000: Dataset):
    towns = chain([town2000], (generate(1500, seed, AS_OF) for seed in range(1, 6)))
    assert any(o["organisationType"] == "Skola" for t in towns for o in t.entities["organisations"])


def test_personnummer_valid_unique_and_fit_the_birth_date(small: Dataset):
    values = [p["civicNo"]["value"] for p in small.entities["persons"]]
    assert len(set(values)) == len(values)
    for p in small.entities["persons"]:
        civic = p["civicNo"]["value"]
        assert luhn_valid(civic), civic
        assert p["civicNo"]["nationality"] == "SE"
        assert civic[:8] == p["birthDate"].replace("-", "")
        assert (int(civic[10]) % 2 == 1) == (p["sex"] == "Man")


def test_ages_fit_school_years(small: Dataset):
    sy = school_year_of(AS_OF).year
    for p in small.entities["persons"]:
        born = int(p["birthDate"][:4])
        if p.get("enrolments"):
            e = p["enrolments"][0]
            age = sy - born  # the age turned during the autumn of the school year
            if e["schoolType"] == "GY":
                assert age == 15 + e["schoolYear"]
                assert e["educationCode"]
            else:
                assert age == 6 + e["schoolYear"]
                assert (e["schoolType"] == "FKLASS") == (e["schoolYear"] == 0)
            assert 6 <= age <= 19
        else:
            assert 24 <= sy - born <= 65


def test_eppns_unique_ascii_and_matching_emails(small: Dataset):
    eppns = [e for p in small.entities["persons"] for e in p["eduPersonPrincipalNames"]]
    assert len(set(eppns)) == len(eppns)
    domain = eppns[0].split("@")[1]
    for p in small.entities["persons"]:
        eppn = p["eduPersonPrincipalNames"][0]
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+\d*@" + re.escape(domain), eppn), eppn
        kind = "Skola elev" if p.get("enrolments") else "Skola personal"
        assert p["emails"] == [{"value": eppn, "type": kind}]
    assert any(set(p["familyName"]) & set("åäöÅÄÖ") for p in small.entities["persons"])


def test_protected_identity_shares(town2000: Dataset):
    marks = Counter(p["securityMarking"] for p in town2000.entities["persons"])
    n = len(town2000.entities["persons"])
    assert 0.001 <= marks["Skyddad folkbokföring"] / n <= 0.012
    assert 0.004 <= marks["Sekretessmarkering"] / n <= 0.02
    assert marks["Ingen"] / n > 0.97


# ---- dates ----------------------------------------------------------------------------------


def test_school_calendar():
    sy = SchoolYear(2025)
    assert sy.autumn_start == date(2025, 8, 18)  # third Monday of August
    assert sy.spring_start == date(2026, 1, 12)
    assert sy.end == date(2026, 6, 12)
    assert school_year_of(date(2026, 3, 1)) == sy
    assert school_year_of(date(2026, 6, 20)) == SchoolYear(2026)
    assert sy.term_start(date(2025, 10, 1)) == sy.autumn_start
    assert sy.term_start(date(2026, 2, 1)) == sy.spring_start


@pytest.mark.parametrize(
    ("as_of", "start", "end"),
    [(AS_OF, "2025-08-18", "2026-06-12"), (date(2026, 2, 2), "2026-01-12", "2026-06-12")],
)
def test_memberships_and_enrolments_span_the_term(as_of: date, start: str, end: str):
    ds = generate(150, 1, as_of)
    for g in ds.entities["groups"]:
        assert (g["startDate"], g["endDate"]) == (start, end)
        assert {(m["startDate"], m["endDate"]) for m in g["groupMemberships"]} == {(start, end)}
    for p in _pupils(ds):
        assert [(e["startDate"], e["endDate"]) for e in p["enrolments"]] == [(start, end)]


# ---- shapes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shaped(town2000: Dataset) -> Dataset:
    return town2000


def test_class_and_group_sizes(shaped: Dataset):
    members = _current_members(shaped)
    groups = {g["id"]: g for g in shaped.entities["groups"]}
    klass = [len(members[g]) for g in members if groups[g]["groupType"] == "Klass"]
    teaching = [len(members[g]) for g in members if groups[g]["groupType"] == "Undervisning"]
    assert klass
    assert min(klass) >= 22
    assert max(klass) <= 28
    assert teaching
    assert min(teaching) >= 12
    assert max(teaching) <= 32
    assert 23 <= sum(klass) / len(klass) <= 27
    types = Counter(g["groupType"] for g in groups.values())
    assert types["Undervisning"] > types["Klass"] > types["Mentor"] > 0


def test_each_pupil_in_one_klass_and_8_to_12_groups(shaped: Dataset):
    members = _current_members(shaped)
    groups = {g["id"]: g for g in shaped.entities["groups"]}
    per_pupil: Counter[str] = Counter()
    klasses: Counter[str] = Counter()
    for gid, people in members.items():
        for p in people:
            per_pupil[p] += 1
            klasses[p] += groups[gid]["groupType"] == "Klass"
    pupils = [p["id"] for p in _pupils(shaped)]
    assert all(klasses[p] == 1 for p in pupils)
    counts = [per_pupil[p] for p in pupils]
    assert min(counts) >= 8
    assert max(counts) <= 12
    assert len(set(counts)) >= 3  # a spread, not one fixed number


def test_group_names(small: Dataset):
    names = [g["displayName"] for g in small.entities["groups"]]
    klass = [g["displayName"] for g in small.entities["groups"] if g["groupType"] == "Klass"]
    assert all(re.fullmatch(r"([1-9]|F|[A-Z]{2}[1-3])[A-Z]", k) for k in klass), klass
    assert any(re.fullmatch(r"[A-Z]{2,3}[1-9][A-Z]-[12]", n) for n in names)  # class halves
    assert any("/" in n for n in names)  # language groups across classes


def test_activities_give_each_teaching_group_1_to_3_teachers(shaped: Dataset):
    duties = {d["id"]: d for d in shaped.entities["duties"]}
    groups = {g["id"]: g for g in shaped.entities["groups"]}
    per_group: dict[str, int] = defaultdict(int)
    for a in shaped.entities["activities"]:
        assert a["activityType"] == "Undervisning"
        assert a["calendarEventsRequired"] is False
        assert "parentActivity" not in a
        assert len(a["groups"]) == 1
        teachers = [t["duty"]["id"] for t in a["teachers"]]
        assert 1 <= len(teachers) == len(set(teachers)) <= 3
        group = groups[a["groups"][0]["id"]]
        assert group["organisation"] == a["organisation"]
        for d in teachers:
            assert duties[d]["dutyRole"] in ("Lärare", "Förstelärare")
            assert duties[d]["dutyAt"]["id"] == a["organisation"]["id"]
        per_group[group["id"]] += 1
    teaching = [g for g in groups.values() if g["groupType"] == "Undervisning"]
    assert all(per_group[g["id"]] == 1 for g in teaching)
    counts = Counter(len(a["teachers"]) for a in shaped.entities["activities"])
    assert counts[1] > counts[2] > counts[3] > 0


def test_staff_at_one_or_two_units_and_roles(shaped: Dataset):
    units: dict[str, set[str]] = defaultdict(set)
    for d in shaped.entities["duties"]:
        units[d["person"]["id"]].add(d["dutyAt"]["id"])
        assert re.fullmatch(r"[A-Z]{1,3}\d*", d["signature"])
    spread = Counter(len(u) for u in units.values())
    assert set(spread) == {1, 2}
    assert spread[2] < spread[1] / 5
    roles = Counter(d["dutyRole"] for d in shaped.entities["duties"])
    n_units = sum(
        1 for o in shaped.entities["organisations"] if o["organisationType"] == "Skolenhet"
    )
    assert roles["Rektor"] == n_units
    assert roles["Lärare"] > roles["Förstelärare"] > 0
    assert roles["Skoladministratör"] >= n_units
    assert roles["Kurator"] > 0
    pupils = {p["id"] for p in _pupils(shaped)}
    assert not pupils & set(units)


def test_every_klass_has_one_mentor(shaped: Dataset):
    mentors: Counter[str] = Counter()
    for d in shaped.entities["duties"]:
        for r in d["assignmentRole"]:
            assert r["assignmentRoleType"] == "Mentor"
            mentors[r["group"]["id"]] += 1
    for g in shaped.entities["groups"]:
        if g["groupType"] in ("Klass", "Mentor"):
            assert mentors[g["id"]] == 1, g["displayName"]
        else:
            assert mentors[g["id"]] == 0
