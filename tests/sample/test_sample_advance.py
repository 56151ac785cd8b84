"""advance(): a term's and a year's changes, stamped, deterministic and consistent."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from adapters.ss12000.sample.advance import advance
from adapters.ss12000.sample.dataset import ENTITIES, Dataset
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sample.integrity import dangling_references

AS_OF, TERM_DAY, YEAR_DAY = date(2025, 9, 1), date(2026, 1, 12), date(2026, 8, 17)


@pytest.fixture(autouse=True, scope="module")
def _same_days_as_the_fixtures(small: Dataset, after_term: Dataset, after_year: Dataset) -> None:
    assert (small.manifest.as_of, after_term.manifest.as_of) == (AS_OF, TERM_DAY)
    assert after_year.manifest.as_of == YEAR_DAY


def _by_id(ds: Dataset, entity: str) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in ds.entities[entity]}


def _mark(day: date) -> str:
    return f"{day.isoformat()}T06:00:00Z"


def _pupils(ds: Dataset) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in ds.entities["persons"] if p.get("enrolments")}


def _current_enrolment(person: dict[str, Any], day: str) -> dict[str, Any]:
    return next(e for e in reversed(person["enrolments"]) if e["endDate"] >= day)


def _membership_days(ds: Dataset) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (g["id"], m["person"]["id"]): (m["startDate"], m["endDate"])
        for g in ds.entities["groups"]
        for m in g["groupMemberships"]
    }


# ---- contract -------------------------------------------------------------------------------


def test_input_is_not_mutated():
    ds = generate(300, 4, AS_OF)
    before = orjson.dumps(ds.entities)
    advance(ds, kind="term", as_of=TERM_DAY)
    advance(ds, kind="year", as_of=YEAR_DAY)
    assert orjson.dumps(ds.entities) == before
    assert ds.manifest.generation == 0
    assert ds.deletions == []


def test_deterministic_and_seed_dependent(small: Dataset):
    a = advance(small, kind="term", as_of=TERM_DAY)
    b = advance(small, kind="term", as_of=TERM_DAY)
    c = advance(small, kind="term", as_of=TERM_DAY, seed=99)
    assert orjson.dumps(a.entities) == orjson.dumps(b.entities)
    assert a.deletions == b.deletions
    assert orjson.dumps(a.entities) != orjson.dumps(c.entities)
    assert c.manifest.seed == small.manifest.seed


def test_manifest_moves_on(small: Dataset, after_term: Dataset, after_year: Dataset):
    assert (after_term.manifest.generation, after_term.manifest.as_of) == (1, TERM_DAY)
    assert (after_year.manifest.generation, after_year.manifest.as_of) == (2, YEAR_DAY)
    assert after_year.manifest.size == small.manifest.size == "small"


def test_refuses_to_go_backwards_or_to_repeat_a_school_year(small: Dataset):
    with pytest.raises(ValueError, match="later than"):
        advance(small, as_of=AS_OF)
    with pytest.raises(ValueError, match="later school year"):
        advance(small, kind="year", as_of=TERM_DAY)
    with pytest.raises(ValueError, match="kind"):
        advance(small, kind="decade", as_of=TERM_DAY)  # type: ignore[arg-type]


def test_a_term_into_a_new_school_year_is_a_year(after_term: Dataset, after_year: Dataset):
    as_term = advance(after_term, kind="term", as_of=YEAR_DAY)
    assert orjson.dumps(as_term.entities) == orjson.dumps(after_year.entities)


@pytest.mark.parametrize("which", ["after_term", "after_year"])
def test_referential_integrity(which: str, request: pytest.FixtureRequest):
    ds: Dataset = request.getfixturevalue(which)
    assert dangling_references(ds) == []


def test_integrity_check_notices_a_dangling_reference(small: Dataset):
    groups = [dict(g) for g in small.entities["groups"]]
    groups[0]["organisation"] = {"id": "00000000-0000-4000-8000-000000000000"}
    broken = Dataset({**small.entities, "groups": groups}, small.deletions, small.manifest)
    assert len(dangling_references(broken)) == 1


# ---- meta and deletions ---------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), [("small", "after_term"), ("after_term", "after_year")])
def test_meta_marks_exactly_what_changed(old: str, new: str, request: pytest.FixtureRequest):
    before: Dataset = request.getfixturevalue(old)
    after: Dataset = request.getfixturevalue(new)
    mark = _mark(after.manifest.as_of)
    changed: Counter[str] = Counter()
    for entity in ENTITIES:
        prior = _by_id(before, entity)
        for obj in after.entities[entity]:
            was = prior.get(obj["id"])
            if obj["meta"]["modified"] == mark:
                changed[entity] += 1
                if was is None:
                    assert obj["meta"]["created"] == mark
                else:
                    assert obj["meta"]["created"] == was["meta"]["created"]
                    assert was["meta"]["modified"] < mark
                    rest = {k: v for k, v in obj.items() if k != "meta"}
                    assert rest != {k: v for k, v in was.items() if k != "meta"}
            else:
                assert was == obj, f"{entity} {obj['id']} changed without a new meta.modified"
    assert changed["persons"] > 0
    assert changed["groups"] > 0
    assert changed["activities"] > 0
    assert changed["organisations"] == 0


@pytest.mark.parametrize(("old", "new"), [("small", "after_term"), ("after_term", "after_year")])
def test_deletions_are_recorded_and_gone(old: str, new: str, request: pytest.FixtureRequest):
    before: Dataset = request.getfixturevalue(old)
    after: Dataset = request.getfixturevalue(new)
    fresh = after.deletions[len(before.deletions) :]
    assert after.deletions[: len(before.deletions)] == before.deletions
    when = datetime.combine(after.manifest.as_of, datetime.min.time().replace(hour=6), UTC)
    assert fresh
    for d in fresh:
        assert d.deleted_at == when
        assert d.id in _by_id(before, d.entity)
        assert d.id not in _by_id(after, d.entity)
    # Whatever is missing now was deleted.
    for entity in ENTITIES:
        gone = set(_by_id(before, entity)) - set(_by_id(after, entity))
        assert gone == {d.id for d in fresh if d.entity == entity}


# ---- a term ---------------------------------------------------------------------------------


def test_term_churn_is_plausible(small: Dataset, after_term: Dataset):
    old, new = _pupils(small), _pupils(after_term)
    left = set(old) - set(new)
    came = set(new) - set(old)
    assert 0.005 * len(old) <= len(left) <= 0.05 * len(old)
    assert 0.005 * len(old) <= len(came) <= 0.06 * len(old)
    assert {d.id for d in after_term.deletions if d.entity == "persons"} == left
    today = TERM_DAY.isoformat()
    for pid in came:
        e = new[pid]["enrolments"][-1]
        assert e["startDate"] == today
        assert new[pid]["meta"]["created"] == _mark(TERM_DAY)
    members = _membership_days(after_term)
    assert not any(p in left for _, p in members)
    joined = {p for (_, p), (start, _) in members.items() if start == today}
    assert came <= joined
    assert joined - came, "some existing pupils changed class or school"


def test_term_ends_moves_renames_and_reassigns(small: Dataset, after_term: Dataset):
    yesterday = (TERM_DAY - timedelta(days=1)).isoformat()
    today = TERM_DAY.isoformat()
    old_groups, new_groups = _by_id(small, "groups"), _by_id(after_term, "groups")
    ended = [g for g in new_groups.values() if g["endDate"] == yesterday]
    assert ended
    for g in ended:
        assert all(m["endDate"] <= yesterday for m in g["groupMemberships"])
    acts = after_term.entities["activities"]
    ended_ids = {g["id"] for g in ended}
    for a in acts:
        if a["groups"][0]["id"] in ended_ids:
            assert a["endDate"] == yesterday
    renamed = [
        g
        for gid, g in new_groups.items()
        if gid in old_groups and g["displayName"] != old_groups[gid]["displayName"]
    ]
    assert renamed
    assert all(re.search(r" VT26$", g["displayName"]) for g in renamed)
    moved = [m for g in ended for m in g["groupMemberships"] if m["endDate"] == yesterday] + [
        m
        for g in new_groups.values()
        for m in g["groupMemberships"]
        if m["endDate"] == yesterday and g["endDate"] != yesterday
    ]
    assert moved, "memberships of movers end the day before"
    swapped = [a for a in acts if any(t["startDate"] == today for t in a["teachers"])]
    assert swapped
    for a in swapped:
        current = [t for t in a["teachers"] if t.get("endDate", "9999") >= today]
        assert 1 <= len(current) <= 3
        assert any(t.get("endDate") == yesterday for t in a["teachers"])


def test_school_movers_change_enrolment(town2000: Dataset):
    later = advance(town2000, kind="term", as_of=TERM_DAY)
    today = TERM_DAY.isoformat()
    before = _pupils(town2000)
    movers = [p for p in _pupils(later).values() if len(p["enrolments"]) == 2 and p["id"] in before]
    assert movers
    for p in movers:
        old, new = p["enrolments"]
        assert old["endDate"] < today <= new["startDate"]
        assert old["enroledAt"] != new["enroledAt"]
        assert old["schoolYear"] == new["schoolYear"]
    assert dangling_references(later) == []


# ---- a year ---------------------------------------------------------------------------------


def test_year_moves_pupils_up(after_term: Dataset, after_year: Dataset):
    before_day, today = TERM_DAY.isoformat(), YEAR_DAY.isoformat()
    old, new = _pupils(after_term), _pupils(after_year)
    units = {o["id"]: o for o in after_year.entities["organisations"]}
    stayed = moved = 0
    left: Counter[bool] = Counter()  # top year or not
    for pid, person in old.items():
        was = _current_enrolment(person, before_day)
        top = was["schoolYear"] == (3 if was["schoolType"] == "GY" else 9)
        if pid not in new:
            left[top] += 1
            continue
        assert not top, "the top year leaves"
        now = _current_enrolment(new[pid], today)
        assert now["schoolYear"] == was["schoolYear"] + 1
        assert now["startDate"] == today
        if now["enroledAt"] == was["enroledAt"]:
            stayed += 1
        else:
            moved += 1
            assert "FKLASS" in units[was["enroledAt"]["id"]]["schoolTypes"]  # from an F-6 unit
            assert now["schoolYear"] == 7
    assert stayed > 0.6 * len(old)
    assert left[True] > 0
    assert left[False] <= 0.05 * len(old)  # the usual few % who move away
    assert moved > 0
    newcomers = set(new) - set(old)
    years = Counter(_current_enrolment(new[p], today)["schoolYear"] for p in newcomers)
    assert years[0] > 0, "a new förskoleklass starts"
    assert years[1] > 0, "a new gymnasium year 1 starts"


def test_year_replaces_groups(after_term: Dataset, after_year: Dataset):
    today = YEAR_DAY.isoformat()
    old_ids = set(_by_id(after_term, "groups"))
    current = [g for g in after_year.entities["groups"] if g["endDate"] >= today]
    assert current
    assert all(g["id"] not in old_ids and g["startDate"] == today for g in current)
    for g in after_year.entities["groups"]:
        if g["id"] in old_ids:
            assert g["endDate"] < today
    old_klass = {
        g["displayName"]
        for g in after_term.entities["groups"]
        if g["groupType"] == "Klass" and g["endDate"] >= TERM_DAY.isoformat()
    }
    new_klass = {g["displayName"] for g in current if g["groupType"] == "Klass"}
    for name in ("1A", "7A", "8A"):
        m = re.fullmatch(r"(\d)([A-Z])", name)
        assert m is not None
        if name in old_klass:
            assert f"{int(m[1]) + 1}{m[2]}" in new_klass


def test_year_shapes_stay_plausible(after_year: Dataset):
    today = YEAR_DAY.isoformat()
    per_pupil: Counter[str] = Counter()
    klass_sizes = []
    for g in after_year.entities["groups"]:
        if g["endDate"] < today:
            continue
        people = [m["person"]["id"] for m in g["groupMemberships"] if m["endDate"] >= today]
        per_pupil.update(people)
        if g["groupType"] == "Klass":
            klass_sizes.append(len(people))
    pupils = _pupils(after_year)
    counts = [per_pupil[p] for p in pupils]
    assert sum(1 for c in counts if 8 <= c <= 12) >= 0.95 * len(counts)
    assert sum(1 for k in klass_sizes if 18 <= k <= 30) >= 0.9 * len(klass_sizes)
    mentored = Counter(
        r["group"]["id"]
        for d in after_year.entities["duties"]
        for r in d["assignmentRole"]
        if r["endDate"] >= today
    )
    klasses = [g for g in after_year.entities["groups"] if g["groupType"] == "Klass"]
    assert all(mentored[g["id"]] == 1 for g in klasses if g["endDate"] >= today)


def test_second_year_prunes_groups_of_two_years_ago(after_year: Dataset):
    later = advance(after_year, kind="year", as_of=date(2027, 8, 16))
    first_year = {g["id"] for g in after_year.entities["groups"] if g["endDate"] < "2026-08-17"}
    assert first_year
    assert not first_year & set(_by_id(later, "groups"))
    assert dangling_references(later) == []
