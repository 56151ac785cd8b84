"""Move a sample dataset forward by a term or a school year, as a real source would change.

A term brings a few % new pupils and leavers, pupils changing class or school, teacher changes,
renamed, ended and deleted groups. A year also moves every pupil up a school year: the top year
leaves (or, from an F-6 unit, moves on to a 7-9 unit), new Klass and teaching groups replace the
old ones (which end the day before), and new pupils start in the lowest years.

Everything is effective at ``as_of``: changed and new objects carry ``meta.modified`` of that day
at 06:00Z, untouched objects are shared with the input dataset unchanged, and the input is never
mutated. The random stream comes from (seed, generation, kind), so advancing is deterministic.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from adapters.ss12000.sample.build import (
    GR_YEARS,
    GY_YEARS,
    TEACHING_ROLES,
    Builder,
    ClassPlan,
    Obj,
    Unit,
    bulk,
    mentor_role,
    school_type,
)
from adapters.ss12000.sample.cohort import MAX_GROUP, TeacherPool, build_cohort
from adapters.ss12000.sample.dataset import ENTITIES, Dataset, Deletion, Manifest
from adapters.ss12000.sample.generate import CLASS_MAX, CLASS_TARGET
from adapters.ss12000.sample.schoolyear import school_year_of, stamp, term_label

LEAVER_SHARE = 0.02
NEW_PUPIL_SHARE = 0.03
CLASS_MOVER_SHARE = 0.01
SCHOOL_MOVER_SHARE = 0.005
TEACHER_CHANGE_SHARE = 0.03
RENAME_SHARE = 0.01
END_SHARE = 0.01
DELETE_SHARE = 0.003
TEMPLATE_TRIES = 8
LIST_FIELD = {
    "persons": "enrolments",
    "duties": "assignmentRole",
    "groups": "groupMemberships",
    "activities": "teachers",
}
_TERM_SUFFIX = re.compile(r" (HT|VT)\d\d$")


def _current(obj: Obj, today: str) -> bool:
    end = obj.get("endDate")
    return end is None or end >= today


def _same(target: Obj) -> Callable[[Obj], bool]:
    return lambda item: item is target


@dataclass(slots=True)
class _Pupil:
    unit: str
    year: int
    code: str | None  # educationCode (gymnasium)


class _Change:
    """A copy-on-write view of a dataset being advanced to ``as_of``."""

    def __init__(self, ds: Dataset, as_of: date, rng: random.Random, seen: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.today = as_of.isoformat()
        self.yesterday = (as_of - timedelta(days=1)).isoformat()
        self.stamp = stamp(as_of)
        self.sy = school_year_of(as_of)
        self.end = self.sy.end.isoformat()
        self.objs: dict[str, dict[str, Obj]] = {
            e: {o["id"]: o for o in ds.entities.get(e, [])} for e in ENTITIES
        }
        self.mine: dict[str, set[str]] = {e: set() for e in ENTITIES}
        self.deletions = list(ds.deletions)
        self.deleted_at = datetime.combine(as_of, time(6), tzinfo=UTC)
        persons = self.objs["persons"].values()
        domain = next(
            (
                p["eduPersonPrincipalNames"][0].partition("@")[2]
                for p in persons
                if p.get("eduPersonPrincipalNames")
            ),
            "example",
        )
        self.b = Builder(rng, as_of, domain)
        self.b.people.remember(
            (e for p in persons for e in p.get("eduPersonPrincipalNames") or ()),
            (p["civicNo"]["value"] for p in persons if isinstance(p.get("civicNo"), dict)),
        )
        self.units = self._units()
        self.index(seen.isoformat())

    # ---- copy-on-write primitives -------------------------------------------------------

    def touch(self, entity: str, ident: str) -> Obj:
        """The writable version of an object: a shallow copy with fresh meta.modified."""
        obj = self.objs[entity][ident]
        if ident in self.mine[entity]:
            return obj
        copy = dict(obj)
        meta = obj.get("meta") or {}
        copy["meta"] = {"created": meta.get("created", self.stamp), "modified": self.stamp}
        field = LIST_FIELD.get(entity)
        if field is not None and isinstance(obj.get(field), list):
            copy[field] = list(obj[field])
        self.objs[entity][ident] = copy
        self.mine[entity].add(ident)
        return copy

    def adopt(self, entity: str, objs: list[Obj]) -> None:
        """Take in objects the builder just made."""
        for o in objs:
            self.objs[entity][o["id"]] = o
            self.mine[entity].add(o["id"])
        objs.clear()

    def delete(self, entity: str, ident: str) -> None:
        if self.objs[entity].pop(ident, None) is not None:
            self.mine[entity].discard(ident)
            self.deletions.append(Deletion(entity, ident, self.deleted_at))

    def end_list(self, items: list[Obj], keep: Callable[[Obj], bool] | None = None) -> list[Obj]:
        """Items with an endDate: current ones end yesterday (or vanish if they start today).

        ``keep`` limits the change to items it returns true for.
        """
        out = []
        for item in items:
            if _current(item, self.today) and (keep is None or keep(item)):
                if item.get("startDate", "") >= self.today:
                    continue
                item = {**item, "endDate": self.yesterday}
            out.append(item)
        return out

    # ---- indexes --------------------------------------------------------------------------

    def _units(self) -> dict[str, Unit]:
        years: dict[str, set[int]] = defaultdict(set)
        codes: dict[str, set[str]] = defaultdict(set)
        for p in self.objs["persons"].values():
            for e in p.get("enrolments") or ():
                uid = e["enroledAt"]["id"]
                if isinstance(e.get("schoolYear"), int):
                    years[uid].add(e["schoolYear"])
                if e.get("educationCode"):
                    codes[uid].add(e["educationCode"])
        units = {}
        for o in self.objs["organisations"].values():
            if o.get("organisationType") != "Skolenhet":
                continue
            gy = "GY" in (o.get("schoolTypes") or ())
            seen = sorted(years.get(o["id"], ()))
            default = GY_YEARS if gy else GR_YEARS["F-9"]
            span = tuple(range(seen[0], seen[-1] + 1)) if seen else default
            units[o["id"]] = Unit(
                id=o["id"],
                name=o.get("displayName", ""),
                kind="GY" if gy else "GR",
                years=span,
                programmes=tuple(sorted((c[:2], c) for c in codes.get(o["id"], ()))),
            )
        return units

    def index(self, today: str) -> None:
        """Who is where on a day: pupils, current groups and their members, teachers, loads."""
        self.seen = today
        self.pupils: dict[str, _Pupil] = {}
        for p in self.objs["persons"].values():
            for e in reversed(p.get("enrolments") or ()):
                if _current(e, today) and e["enroledAt"]["id"] in self.units:
                    self.pupils[p["id"]] = _Pupil(
                        e["enroledAt"]["id"], int(e.get("schoolYear") or 0), e.get("educationCode")
                    )
                    break
        self.members: dict[str, list[str]] = {}
        self.pupil_groups: dict[str, list[str]] = defaultdict(list)
        self.klass_of: dict[str, str] = {}
        self.in_groups: dict[str, list[str]] = defaultdict(list)  # every membership, any date
        for g in self.objs["groups"].values():
            gid = g["id"]
            for m in g.get("groupMemberships") or ():
                self.in_groups[m["person"]["id"]].append(gid)
            if not _current(g, today):
                continue
            current = [
                m["person"]["id"] for m in g.get("groupMemberships") or () if _current(m, today)
            ]
            self.members[gid] = current
            for pid in current:
                self.pupil_groups[pid].append(gid)
                if g.get("groupType") == "Klass":
                    self.klass_of[pid] = gid
        self.cohort_klasses: dict[tuple[str, int], list[str]] = defaultdict(list)
        for gid, current in self.members.items():
            g = self.objs["groups"][gid]
            if g.get("groupType") == "Klass" and current and current[0] in self.pupils:
                info = self.pupils[current[0]]
                self.cohort_klasses[(info.unit, info.year)].append(gid)
        self.acts_of: dict[str, list[str]] = defaultdict(list)
        for a in self.objs["activities"].values():
            for ref in a.get("groups") or ():
                self.acts_of[ref["id"]].append(a["id"])
        self.pools = self._pools(today)

    def _pools(self, today: str) -> dict[str, TeacherPool]:
        load: dict[str, int] = defaultdict(int)
        subjects: dict[str, set[str]] = defaultdict(set)
        for a in self.objs["activities"].values():
            if not _current(a, today):
                continue
            for t in a.get("teachers") or ():
                if _current(t, today):
                    load[t["duty"]["id"]] += 1
                    subjects[t["duty"]["id"]].add(a.get("displayName", ""))
        pools: dict[str, TeacherPool] = {u: TeacherPool(self.rng) for u in self.units}
        for d in self.objs["duties"].values():
            unit = d.get("dutyAt", {}).get("id")
            if unit in pools and d.get("dutyRole") in TEACHING_ROLES and _current(d, today):
                mentoring = sum(1 for r in d.get("assignmentRole") or () if _current(r, today))
                pools[unit].add(d["id"], subjects[d["id"]], load[d["id"]], mentoring)
        return pools

    # ---- pupils ---------------------------------------------------------------------------

    def leave(self, pid: str) -> None:
        """A pupil leaves the municipality: the person goes, with every membership."""
        for gid in dict.fromkeys(self.in_groups.pop(pid, ())):
            if gid in self.objs["groups"]:
                g = self.touch("groups", gid)
                g["groupMemberships"] = [
                    m for m in g["groupMemberships"] if m["person"]["id"] != pid
                ]
            if pid in self.members.get(gid, ()):
                self.members[gid].remove(pid)
        self.pupil_groups.pop(pid, None)
        self.klass_of.pop(pid, None)
        self.pupils.pop(pid, None)
        self.delete("persons", pid)

    def drop_groups(self, pid: str) -> None:
        """End a pupil's current memberships (moving on)."""
        for gid in self.pupil_groups.pop(pid, []):
            g = self.touch("groups", gid)
            g["groupMemberships"] = self.end_list(
                g["groupMemberships"], lambda m: m["person"]["id"] == pid
            )
            self.members[gid].remove(pid)
        self.klass_of.pop(pid, None)

    def join(self, pid: str, gids: list[str]) -> None:
        for gid in gids:
            g = self.touch("groups", gid)
            g["groupMemberships"].append(
                self.b.membership(pid, self.today, g.get("endDate") or self.end)
            )
            self.members[gid].append(pid)
            self.pupil_groups[pid].append(gid)
            self.in_groups[pid].append(gid)
            if g.get("groupType") == "Klass":
                self.klass_of[pid] = gid

    def template(self, klass: str, exclude: str = "") -> list[str] | None:
        """The current groups of a classmate in ``klass`` with room for one more pupil."""
        mates = [p for p in self.members.get(klass, ()) if p != exclude]
        if not mates or len(self.members[klass]) >= CLASS_MAX:
            return None
        for mate in self.rng.sample(mates, min(TEMPLATE_TRIES, len(mates))):
            gids = self.pupil_groups.get(mate, [])
            if all(
                len(self.members[g]) < MAX_GROUP
                for g in gids
                if self.objs["groups"][g].get("groupType") != "Klass"
            ):
                return list(gids)
        return None

    def enrol(self, pid: str, unit: Unit, year: int, code: str | None) -> None:
        """End a pupil's current enrolment and enrol them at ``unit`` from today."""
        p = self.touch("persons", pid)
        ends = p.get("enrolments") or []
        programme = (code[:2], code) if code else None
        p["enrolments"] = [
            *self.end_list(ends),
            self.b.enrolment(unit, year, programme, self.today, self.end),
        ]
        self.pupils[pid] = _Pupil(unit.id, year, code)

    def sample(self, items: list[str], share: float, at_least: int = 0) -> list[str]:
        want = max(at_least if items else 0, round(len(items) * share))
        return self.rng.sample(items, min(want, len(items)))

    # ---- a term's changes -----------------------------------------------------------------

    def term(self) -> None:
        self._leavers()
        pupils = sorted(self.pupils)
        self._class_movers(pupils)
        self._school_movers(pupils)
        self._new_pupils(pupils)
        self._teacher_changes()
        self._group_changes()

    def _leavers(self) -> None:
        """Pupils who leave; never one who arrived in this same change."""
        persons = self.objs["persons"]
        settled = sorted(p for p in self.pupils if persons[p]["meta"]["created"] != self.stamp)
        for pid in self.sample(settled, LEAVER_SHARE, 1):
            self.leave(pid)

    def _class_movers(self, pupils: list[str]) -> None:
        """Pupils who change class within their school year: new groups from today."""
        for pid in self.sample(pupils, CLASS_MOVER_SHARE, 1):
            info, old = self.pupils[pid], self.klass_of.get(pid)
            if old is None:
                continue
            others = [k for k in self.cohort_klasses[(info.unit, info.year)] if k != old]
            self.rng.shuffle(others)
            for klass in others:
                gids = self.template(klass)
                if gids is not None:
                    self.drop_groups(pid)
                    self.join(pid, gids)
                    break

    def _school_movers(self, pupils: list[str]) -> None:
        """Pupils who move to another unit of the same kind, same school year."""
        klasses: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
        for (u, y), ks in sorted(self.cohort_klasses.items()):
            klasses[(self.units[u].kind, y)] += [(u, k) for k in ks]
        for pid in self.sample(pupils, SCHOOL_MOVER_SHARE, 1):
            if pid not in self.pupils or pid not in self.klass_of:
                continue
            info = self.pupils[pid]
            options = klasses[(self.units[info.unit].kind, info.year)]
            targets = [k for u, k in options if u != info.unit]
            for klass in self.rng.sample(targets, min(TEMPLATE_TRIES, len(targets))):
                gids = self.template(klass)
                if gids is not None:
                    unit = self.units[self.objs["groups"][klass]["organisation"]["id"]]
                    code = self.pupils[self.members[klass][0]].code
                    self.drop_groups(pid)
                    self.join(pid, gids)
                    self.enrol(pid, unit, info.year, code)
                    break

    def _new_pupils(self, pupils: list[str]) -> None:
        """Newcomers join the class (and groups) of a pupil already there, where there is room."""
        mates = [p for p in pupils if p in self.pupils]
        for _ in range(max(1, round(len(mates) * NEW_PUPIL_SHARE)) if mates else 0):
            mate = self.rng.choice(mates)
            gids = self.template(self.klass_of[mate]) if mate in self.klass_of else None
            if gids is None:
                continue
            info = self.pupils[mate]
            programme = (info.code[:2], info.code) if info.code else None
            person = self.b.pupil(
                self.units[info.unit], info.year, self.sy.year, programme, self.today, self.end
            )
            self.adopt("persons", self.b.persons)
            self.pupils[person["id"]] = _Pupil(info.unit, info.year, info.code)
            self.join(person["id"], gids)

    def _teacher_changes(self) -> None:
        current = sorted(
            a["id"]
            for a in self.objs["activities"].values()
            if _current(a, self.today) and a.get("teachers")
        )
        for aid in self.sample(current, TEACHER_CHANGE_SHARE, 1):
            act = self.objs["activities"][aid]
            pool = self.pools.get(act["organisation"]["id"])
            now = [t for t in act["teachers"] if _current(t, self.today)]
            if pool is None or not now:
                continue
            leaving = self.rng.choice(now)
            busy = [t["duty"]["id"] for t in now]
            picked = pool.pick(act.get("displayName", ""), 1, exclude=busy)
            if not picked:
                continue
            act = self.touch("activities", aid)
            act["teachers"] = [
                *self.end_list(act["teachers"], _same(leaving)),
                {"duty": self.b.ref(picked[0]), "startDate": self.today},
            ]

    def _group_changes(self) -> None:
        teaching = sorted(
            gid
            for gid in self.members
            if self.objs["groups"][gid].get("groupType") == "Undervisning"
            and self.objs["groups"][gid].get("startDate", "") < self.today
        )
        picked = self.sample(teaching, RENAME_SHARE + END_SHARE + DELETE_SHARE, 3)
        n_rename = max(1, round(len(teaching) * RENAME_SHARE)) if teaching else 0
        n_end = max(1, round(len(teaching) * END_SHARE)) if teaching else 0
        for gid in picked[:n_rename]:
            g = self.touch("groups", gid)
            g["displayName"] = f"{_TERM_SUFFIX.sub('', g['displayName'])} {term_label(self.as_of)}"
        for gid in picked[n_rename : n_rename + n_end]:
            self.end_group(gid)
        for gid in picked[n_rename + n_end :]:
            self.delete_group(gid)

    def end_group(self, gid: str) -> None:
        g = self.touch("groups", gid)
        g["endDate"] = self.yesterday
        g["groupMemberships"] = self.end_list(g["groupMemberships"])
        for pid in self.members.pop(gid, []):
            self.pupil_groups[pid].remove(gid)
        for aid in self.acts_of.get(gid, ()):
            act = self.objs["activities"].get(aid)
            if act is not None and _current(act, self.today):
                self.touch("activities", aid)["endDate"] = self.yesterday

    def delete_group(self, gid: str) -> None:
        for pid in self.members.pop(gid, []):
            self.pupil_groups[pid].remove(gid)
        for aid in self.acts_of.pop(gid, []):
            self.delete("activities", aid)
        self.delete("groups", gid)

    # ---- a new school year ----------------------------------------------------------------

    def year(self, previous: date) -> None:
        old_sy = school_year_of(previous)
        if self.sy.year <= old_sy.year:
            raise ValueError(
                f"a year advance needs as_of in a later school year than {previous}; "
                f"the next school year starts {old_sy.next().autumn_start}"
            )
        self._prune(old_sy.autumn_start.isoformat())
        letters = {
            gid: self.objs["groups"][gid]["displayName"][-1:]
            for ks in self.cohort_klasses.values()
            for gid in ks
        }
        old_cohorts = {key: list(ks) for key, ks in self.cohort_klasses.items()}
        old_members = {gid: list(self.members[gid]) for ks in old_cohorts.values() for gid in ks}
        cohort_size = {key: sum(len(old_members[g]) for g in ks) for key, ks in old_cohorts.items()}
        self._end_everything()
        # Pupils move up, on or out.
        moving_in: dict[tuple[str, int], list[str]] = defaultdict(list)
        for pid in sorted(self.pupils):
            info = self.pupils[pid]
            unit, nxt = self.units[info.unit], info.year + 1
            if nxt in unit.years:
                p = self.touch("persons", pid)
                p["enrolments"] = [
                    {**e, "schoolYear": nxt, "schoolType": school_type(unit.kind, nxt),
                     "startDate": self.today, "endDate": self.end}
                    if _current(e, self.seen) and e["enroledAt"]["id"] == unit.id
                    else e
                    for e in p["enrolments"]
                ]  # fmt: skip
                info.year = nxt
                continue
            receivers = [
                u for u in self.units.values()
                if u.kind == "GR" and unit.kind == "GR" and nxt in u.years
            ]  # fmt: skip
            if receivers:
                firsts = [u for u in receivers if u.years[0] == nxt] or receivers
                target = self.rng.choice(firsts)
                self.enrol(pid, target, nxt, None)
                moving_in[(target.id, nxt)].append(pid)
            else:
                self.leave(pid)
        # New classes for every cohort.
        for unit in sorted(self.units.values(), key=lambda u: u.id):
            for year in unit.years:
                plans: list[ClassPlan] = []
                for gid in old_cohorts.get((unit.id, year - 1), ()):
                    kept = [p for p in old_members[gid] if p in self.pupils]
                    if kept:
                        code = self.pupils[kept[0]].code
                        plans.append(
                            ClassPlan(letters[gid], kept, (code[:2], code) if code else None)
                        )
                arriving = moving_in.get((unit.id, year), [])
                if not plans:
                    size = max(cohort_size.get((unit.id, year), 0), len(arriving))
                    plans = self._intake(unit, year, size, arriving)
                else:
                    for pid in arriving:
                        min(plans, key=lambda c: len(c.pupils)).pupils.append(pid)
                if not plans:
                    continue
                plans.sort(key=lambda c: (c.programme or ("", ""), c.letter))
                mentors = build_cohort(
                    self.b, unit, year, self.sy.year, plans, self.pools[unit.id],
                    self.today, self.end,
                )  # fmt: skip
                for duty_id, group_id in mentors:
                    d = self.touch("duties", duty_id)
                    d["assignmentRole"] = [
                        *(d.get("assignmentRole") or []),
                        mentor_role(self.b.ref(group_id), self.today, self.end),
                    ]
        self.adopt("groups", self.b.groups)
        self.adopt("activities", self.b.activities)
        self.index(self.today)

    def _intake(self, unit: Unit, year: int, size: int, arriving: list[str]) -> list[ClassPlan]:
        """Classes for a cohort with nobody moving up into it: arrivals plus new pupils."""
        if size <= 0:
            return []
        count = max(1, round(size / CLASS_TARGET))
        programmes = unit.programmes or ((("", ""),) if unit.kind == "GY" else ())
        plans: list[ClassPlan] = []
        per_prefix: dict[str, int] = defaultdict(int)
        for i in range(count):
            prog = programmes[i % len(programmes)] if programmes else None
            per_prefix[prog[0] if prog else ""] += 1
            plans.append(ClassPlan(chr(64 + per_prefix[prog[0] if prog else ""]), [], prog))
        for i, pid in enumerate(arriving):
            plans[i % count].pupils.append(pid)
        for i in range(len(arriving), size):
            plan = plans[i % count]
            person = self.b.pupil(unit, year, self.sy.year, plan.programme, self.today, self.end)
            self.pupils[person["id"]] = _Pupil(
                unit.id, year, plan.programme[1] if plan.programme else None
            )
            plan.pupils.append(person["id"])
        self.adopt("persons", self.b.persons)
        return [p for p in plans if p.pupils]

    def _prune(self, before: str) -> None:
        """Groups that ended before the school year now ending go, with their activities."""
        old = sorted(
            gid for gid, g in self.objs["groups"].items() if (g.get("endDate") or "9999") < before
        )
        if not old:
            return
        gone = set(old)
        for gid in old:
            self.delete_group(gid)
        for did, d in list(self.objs["duties"].items()):
            if any(r.get("group", {}).get("id") in gone for r in d.get("assignmentRole") or ()):
                self.touch("duties", did)["assignmentRole"] = [
                    r for r in d["assignmentRole"] if r.get("group", {}).get("id") not in gone
                ]

    def _end_everything(self) -> None:
        """What still runs of the old year's groups, activities and mentor roles ends yesterday."""
        for gid in list(self.members):
            if _current(self.objs["groups"][gid], self.today):
                self.end_group(gid)
        for did, d in list(self.objs["duties"].items()):
            if any(_current(r, self.today) for r in d.get("assignmentRole") or ()):
                d = self.touch("duties", did)
                d["assignmentRole"] = self.end_list(d["assignmentRole"])
        for pool in self.pools.values():
            for duty in pool.load:
                pool.load[duty] = 0
                pool.mentoring[duty] = 0
        self.cohort_klasses.clear()
        self.members.clear()
        self.pupil_groups.clear()
        self.klass_of.clear()

    def result(self, manifest: Manifest) -> Dataset:
        return Dataset(
            entities={e: list(self.objs[e].values()) for e in ENTITIES},
            deletions=self.deletions,
            manifest=manifest,
        )


def advance(
    ds: Dataset,
    *,
    kind: Literal["term", "year"] = "term",
    as_of: date | None = None,
    seed: int | None = None,
) -> Dataset:
    """The dataset one term (or one school year) later, effective at ``as_of`` (default today).

    ``seed`` overrides the manifest's seed for the random stream only. A term advance into a
    later school year is a year advance.
    """
    if kind not in ("term", "year"):
        raise ValueError(f"kind must be 'term' or 'year', not {kind!r}")
    day = as_of or date.today()
    if day <= ds.manifest.as_of:
        raise ValueError(f"as_of {day} must be later than the dataset's as_of {ds.manifest.as_of}")
    if kind == "term" and school_year_of(day).year > school_year_of(ds.manifest.as_of).year:
        kind = "year"  # a term in a later school year comes after a new school year
    generation = ds.manifest.generation + 1
    rng = random.Random(
        f"ss12000-sample:{ds.manifest.seed if seed is None else seed}:{generation}:{kind}"
    )
    with bulk():
        change = _Change(ds, day, rng, seen=ds.manifest.as_of if kind == "year" else day)
        if kind == "year":
            change.year(ds.manifest.as_of)
        change.term()
    manifest = Manifest(
        seed=ds.manifest.seed, size=ds.manifest.size, as_of=day, generation=generation
    )
    return change.result(manifest)


def last_changes(ds: Dataset) -> dict[str, int]:
    """How many objects per entity carry the dataset's own as_of stamp (changed or created)."""
    mark = stamp(ds.manifest.as_of)
    return {
        e: sum(1 for o in ds.entities.get(e, ()) if (o.get("meta") or {}).get("modified") == mark)
        for e in ENTITIES
    }
