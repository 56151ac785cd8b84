"""Generate a synthetic Swedish municipality as SS 12000:2020 JSON.

One Huvudman; school units (Skolenhet) for compulsory school (F-9, F-6, 7-9) and gymnasium,
some under a Skola; staff with duties (a few at two units); pupils with enrolments in classes of
about 25; teaching groups and activities; a mentor per class. Deterministic for (size, seed,
as_of): one ``random.Random(seed)`` drives everything.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.ss12000.sample import names
from adapters.ss12000.sample.build import (
    GR_YEARS,
    GY_YEARS,
    Builder,
    ClassPlan,
    Obj,
    Unit,
    bulk,
    mentor_role,
)
from adapters.ss12000.sample.cohort import TeacherPool, build_cohort, teacher_subjects
from adapters.ss12000.sample.dataset import Dataset, Manifest
from adapters.ss12000.sample.people import ascii_slug
from adapters.ss12000.sample.schoolyear import SchoolYear, school_year_of
from engine.personnummer import luhn_digit


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """How big a municipality is."""

    pupils: int
    schools: int
    staff: int


STAFF_PER_PUPIL = 20_000 / 150_000
PUPILS_PER_SCHOOL = 500
SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(pupils=600, schools=3, staff=80),
    "medium": SizeSpec(pupils=15_000, schools=30, staff=2_000),
    "large": SizeSpec(pupils=150_000, schools=300, staff=20_000),
}
CLASS_MIN, CLASS_MAX, CLASS_TARGET = 22, 28, 25
GY_SHARE = 0.12  # share of units that are gymnasium units
GY_WEIGHT = 3.0  # gymnasium units are bigger per school year
SKOLA_SHARE = 0.3  # compulsory units placed under a Skola
SECOND_DUTY_SHARE = 0.05  # teachers who also teach at a second unit
FORSTELARARE_SHARE = 0.1
GR_PATTERN = ("F-6", "7-9", "F-9", "F-6", "F-9", "7-9", "F-6", "F-9")


def size_spec(size: str | int) -> tuple[str, SizeSpec]:
    """The label and spec for a size name or a pupil count (``"small"``, ``2000``, ``"2000"``)."""
    if isinstance(size, str) and size in SIZES:
        return size, SIZES[size]
    text = str(size).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"size {size!r} is not one of {', '.join(SIZES)} or a positive number of pupils"
        )
    n = int(text)
    return (
        str(n),
        SizeSpec(
            pupils=n,
            schools=max(1, round(n / PUPILS_PER_SCHOOL)),
            staff=max(5, round(n * STAFF_PER_PUPIL)),
        ),
    )


def _apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split ``total`` by weights (largest remainder), each getting ``minimum`` first if it can."""
    if minimum * len(weights) > total:
        minimum = 0
    rest = total - minimum * len(weights)
    wsum = sum(weights)
    exact = [rest * w / wsum for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[: rest - sum(shares)]:
        shares[i] += 1
    return [minimum + s for s in shares]


def _class_sizes(rng: random.Random, pupils: int, classes: int) -> list[int]:
    """``classes`` sizes summing to ``pupils``, each within 22-28 when the numbers allow."""
    size, extra = divmod(pupils, classes)
    sizes = [size + (1 if i < extra else 0) for i in range(classes)]
    lo, hi = min(CLASS_MIN, size), max(CLASS_MAX, size + 1)
    for _ in range(3 * classes):
        i, j = rng.randrange(classes), rng.randrange(classes)
        step = rng.randint(1, 3)
        if i != j and sizes[i] - step >= lo and sizes[j] + step <= hi:
            sizes[i] -= step
            sizes[j] += step
    rng.shuffle(sizes)
    return sizes


def _school_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Unique (base, suffix) pairs; the suffix numbers repeats once the stems run out."""
    bases = [f"{s}{p}" for s in names.SCHOOL_STEMS for p in names.SCHOOL_PARTS]
    rng.shuffle(bases)
    return [
        (bases[i % len(bases)], f" {i // len(bases) + 1}" if i >= len(bases) else "")
        for i in range(count)
    ]


def _unit_code(rng: random.Random, used: set[str]) -> str:
    while True:
        code = str(rng.randrange(10_000_000, 100_000_000))
        if code not in used:
            used.add(code)
            return code


class _Municipality:
    """The generator's working state for one run."""

    def __init__(self, spec: SizeSpec, seed: int, as_of: date) -> None:
        self.spec = spec
        self.rng = rng = random.Random(seed)
        self.sy: SchoolYear = school_year_of(as_of)
        self.start = self.sy.term_start(as_of).isoformat()
        self.end = self.sy.end.isoformat()
        self.name = rng.choice(names.MUNICIPALITIES)
        self.domain = f"{ascii_slug(self.name)}.example"
        self.b = Builder(rng, as_of, self.domain)
        self.organisations: list[Obj] = []
        self.units: list[Unit] = []
        self.pools: list[TeacherPool] = []
        self.duty_by_id: dict[str, Obj] = {}
        self.unit_activities: list[list[Obj]] = []

    def run(self) -> None:
        self._organisations()
        weights = [
            len(u.years) * self.rng.uniform(0.7, 1.3) * (GY_WEIGHT if u.kind == "GY" else 1.0)
            for u in self.units
        ]
        classes = max(1, round(self.spec.pupils / CLASS_TARGET))
        sizes = _class_sizes(self.rng, self.spec.pupils, classes)
        per_unit = _apportion(classes, weights, minimum=1 if classes >= len(self.units) else 0)
        pupils_per_unit = []
        at = 0
        for n in per_unit:
            pupils_per_unit.append(sizes[at : at + n])
            at += n
        staff = _apportion(self.spec.staff, [max(1, sum(s)) for s in pupils_per_unit])
        for i, unit in enumerate(self.units):
            self._staff(unit, staff[i], sum(pupils_per_unit[i]))
            self._pupils(i, unit, pupils_per_unit[i])
        self._second_duties()

    def _organisations(self) -> None:
        b, rng, spec = self.b, self.rng, self.spec
        county = rng.randint(1, 25)
        self.code = f"{county:02d}99"
        number = f"212000{rng.randrange(1000):03d}"
        top: Obj = {
            "id": b.new_id(),
            "meta": b.meta(),
            "displayName": f"{self.name} kommun",
            "organisationType": "Huvudman",
            "organisationNumber": f"{number[:6]}-{number[6:]}{luhn_digit(number)}",
            "municipalityCode": self.code,
            "url": f"https://{self.domain}",
        }
        self.organisations.append(top)
        n = spec.schools
        n_gy = 0 if n == 1 else max(1, round(n * GY_SHARE))
        kinds = [GR_PATTERN[i % len(GR_PATTERN)] for i in range(n - n_gy)] + ["GY"] * n_gy
        rng.shuffle(kinds)
        if n == 1:
            kinds = ["F-9"]
        used_codes: set[str] = set()
        for kind, (base, suffix) in zip(kinds, _school_names(rng, n), strict=True):
            parent: str = top["id"]
            years: tuple[int, ...]
            if kind == "GY":
                name = (
                    f"{base}gymnasiet" if base in names.SCHOOL_STEMS else f"{base} gymnasium"
                ) + suffix
                types, years = ["GY"], GY_YEARS
                programmes = tuple(rng.sample(names.PROGRAMMES, rng.randint(3, 6)))
            else:
                name = f"{base}skolan{suffix}"
                years = GR_YEARS[kind]
                types = ["FKLASS", "GR"] if 0 in years else ["GR"]
                programmes = ()
                if rng.random() < SKOLA_SHARE:
                    skola: Obj = {
                        "id": b.new_id(),
                        "meta": b.meta(),
                        "displayName": name,
                        "organisationType": "Skola",
                        "municipalityCode": self.code,
                        "schoolTypes": types,
                        "parentOrganisation": b.ref(top["id"]),
                    }
                    self.organisations.append(skola)
                    parent = skola["id"]
                    name = f"{name} {kind}"
            unit_obj: Obj = {
                "id": b.new_id(),
                "meta": b.meta(),
                "displayName": name,
                "organisationType": "Skolenhet",
                "schoolUnitCode": _unit_code(rng, used_codes),
                "municipalityCode": self.code,
                "schoolTypes": types,
                "parentOrganisation": b.ref(parent),
            }
            self.organisations.append(unit_obj)
            self.units.append(
                Unit(
                    id=unit_obj["id"],
                    name=name,
                    kind="GY" if kind == "GY" else "GR",
                    years=years,
                    programmes=programmes,
                )
            )

    def _staff(self, unit: Unit, count: int, pupils: int) -> None:
        b, rng, sy = self.b, self.rng, self.sy
        roles = ["Rektor", "Skoladministratör"]
        if pupils >= 500:
            roles.append("Skoladministratör")
        if pupils >= 150:
            roles.append("Kurator")
        teachers = max(4, count - len(roles))
        roles += [
            "Förstelärare" if rng.random() < FORSTELARARE_SHARE else "Lärare"
            for _ in range(teachers)
        ]
        pool = TeacherPool(rng)
        for role in roles:
            age = rng.randint(24, 65)
            who = b.people.make(sy.year - age, child=False, signature=True)
            person = b.person(who, "Skola personal")
            since = max(sy.year - rng.randint(0, min(20, age - 24)), sy.year - age + 24)
            percent = 100 if rng.random() < 0.8 else rng.choice((50, 75, 80, 90))
            duty = b.duty(
                person["id"], unit.id, role, who.signature,
                SchoolYear(since).autumn_start.isoformat(), percent,
            )  # fmt: skip
            self.duty_by_id[duty["id"]] = duty
            if role in ("Lärare", "Förstelärare"):
                pool.add(duty["id"], teacher_subjects(rng, unit.kind))
        self.pools.append(pool)

    def _pupils(self, index: int, unit: Unit, sizes: list[int]) -> None:
        b, rng, sy = self.b, self.rng, self.sy
        n_years = len(unit.years)
        if len(sizes) >= n_years:
            per_year = _apportion(len(sizes), [1.0] * n_years)
            rng.shuffle(per_year)
        else:
            chosen = set(rng.sample(range(n_years), len(sizes)))
            per_year = [1 if i in chosen else 0 for i in range(n_years)]
        first = len(b.activities)
        at = 0
        for year, k in zip(unit.years, per_year, strict=True):
            plans: list[ClassPlan] = []
            letters: dict[str, int] = {}
            for size in sizes[at : at + k]:
                programme = (
                    unit.programmes[len(plans) % len(unit.programmes)] if unit.programmes else None
                )
                prefix = programme[0] if programme else ""
                letters[prefix] = letters.get(prefix, 0) + 1
                pupils = [
                    b.pupil(unit, year, sy.year, programme, self.start, self.end)["id"]
                    for _ in range(size)
                ]
                plans.append(ClassPlan(chr(64 + letters[prefix]), pupils, programme))
            at += k
            if not plans:
                continue
            mentors = build_cohort(
                b, unit, year, sy.year, plans, self.pools[index], self.start, self.end
            )
            for duty_id, group_id in mentors:
                self.duty_by_id[duty_id]["assignmentRole"].append(
                    mentor_role(b.ref(group_id), self.start, self.end)
                )
        self.unit_activities.append(b.activities[first:])

    def _second_duties(self) -> None:
        """Some teachers also teach at a second unit of the same kind: a second duty there."""
        b, rng = self.b, self.rng
        if len(self.units) < 2:
            return
        teaching = [(i, d) for i, pool in enumerate(self.pools) for d in pool.subjects]
        count = round(len(teaching) * SECOND_DUTY_SHARE)
        for i, duty_id in rng.sample(teaching, count):
            unit = self.units[i]
            others = [j for j, u in enumerate(self.units) if j != i and u.kind == unit.kind]
            others = others or [j for j in range(len(self.units)) if j != i]
            j = rng.choice(others)
            first = self.duty_by_id[duty_id]
            subjects = self.pools[i].subjects[duty_id]
            second = b.duty(
                first["person"]["id"], self.units[j].id, "Lärare", first["signature"],
                self.start, 40,
            )  # fmt: skip
            self.duty_by_id[second["id"]] = second
            self.pools[j].add(second["id"], subjects)
            acts = self.unit_activities[j]
            matching = [a for a in acts if a["displayName"] in subjects] or acts
            for act in rng.sample(matching, min(2, len(matching))):
                teachers = act["teachers"]
                if all(t["duty"]["id"] != second["id"] for t in teachers):
                    teachers[0] = {"duty": b.ref(second["id"]), "startDate": self.start}

    def dataset(self, label: str, seed: int, as_of: date) -> Dataset:
        entities: dict[str, list[dict[str, Any]]] = {
            "organisations": self.organisations,
            "persons": self.b.persons,
            "duties": self.b.duties,
            "groups": self.b.groups,
            "activities": self.b.activities,
        }
        return Dataset(
            entities=entities,
            deletions=[],
            manifest=Manifest(seed=seed, size=label, as_of=as_of, generation=0),
        )


def generate(size: str | int, seed: int, as_of: date) -> Dataset:
    """A fresh municipality: ``size`` is small, medium, large or a number of pupils."""
    label, spec = size_spec(size)
    with bulk():
        town = _Municipality(spec, seed, as_of)
        town.run()
        return town.dataset(label, seed, as_of)
