"""One school year at one unit: its classes, teaching groups, activities, teachers and mentors.

Shapes kept here: a pupil is in one Klass plus 7 to 11 teaching groups (8 to 12 in total, counting
the Mentor groups some gymnasium classes have); teaching groups hold 12 to 32 pupils (whole
classes, class halves, or language choices across classes); each group has one activity with
1 to 3 teachers, chosen among the unit's teachers by subject and load.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.ss12000.sample.build import Builder, ClassPlan, Unit, klass_name, school_type

CORE_LOW = ("SV", "MA", "EN", "NO", "SO", "IDH")
EXTRA_LOW = ("BL", "MU", "SL", "TK", "HKK")
CORE_HIGH = ("SV", "MA", "EN", "IDH")
EXTRA_HIGH = ("BI", "FY", "KE", "GE", "HI", "RE", "SH", "TK", "BL", "MU", "SL", "HKK", "M2")
CORE_GY = ("SVE", "ENG", "MAT", "IDR")
EXTRA_GY = ("HIS", "SAM", "REL", "NAK", "BIO", "FYS", "KEM", "FOR", "PRR", "M2")
LANGUAGES = ("SPA", "TYS", "FRA")
LANGUAGE_WEIGHTS = (0.5, 0.3, 0.2)
SPLIT_SHARE = {"SL": 0.6, "HKK": 0.6, "TK": 0.3, "BL": 0.3, "KE": 0.3, "FY": 0.3, "PRR": 0.4}
SPLIT_SHARE_DEFAULT = 0.08
TEACHER_COUNTS = (1, 2, 3)
TEACHER_COUNT_WEIGHTS = (0.72, 0.2, 0.08)
MIN_GROUP, MAX_GROUP, LANGUAGE_TARGET = 12, 32, 30
MENTOR_GROUP_SHARE = 0.7  # gymnasium cohorts whose classes also have two Mentor groups

TEACHER_SUBJECTS = {
    "GR": {
        "SV": 3, "MA": 3, "EN": 2, "NO": 2, "SO": 2, "IDH": 1, "BL": 1, "MU": 1, "SL": 1,
        "TK": 1, "HKK": 0.6, "BI": 0.7, "FY": 0.6, "KE": 0.6, "GE": 0.6, "HI": 0.6, "RE": 0.5,
        "SH": 0.6, "SPA": 0.7, "TYS": 0.4, "FRA": 0.3,
    },
    "GY": {
        "SVE": 3, "ENG": 2.5, "MAT": 3, "IDR": 1, "HIS": 1, "SAM": 1.2, "REL": 0.6, "NAK": 1,
        "BIO": 0.8, "FYS": 0.8, "KEM": 0.8, "FOR": 0.8, "PRR": 0.6, "SPA": 0.6, "TYS": 0.4,
        "FRA": 0.3,
    },
}  # fmt: skip


def teacher_subjects(rng: random.Random, kind: str) -> frozenset[str]:
    """Two or three subjects a teacher is qualified for, weighted by how much each is taught."""
    table = TEACHER_SUBJECTS[kind]
    names, weights = list(table), list(table.values())
    want = 3 if rng.random() < 0.3 else 2
    chosen: set[str] = set()
    while len(chosen) < want:
        chosen.add(rng.choices(names, weights)[0])
    return frozenset(chosen)


@dataclass
class TeacherPool:
    """The teaching duties of one unit, handed out by subject and least load."""

    rng: random.Random
    subjects: dict[str, frozenset[str]] = field(default_factory=dict)  # duty id -> subjects
    load: dict[str, int] = field(default_factory=dict)
    mentoring: dict[str, int] = field(default_factory=dict)
    _order: dict[str, float] = field(default_factory=dict)
    _by_subject: dict[str, list[str]] = field(default_factory=dict)

    def add(self, duty_id: str, subjects: Iterable[str], load: int = 0, mentoring: int = 0) -> None:
        subs = frozenset(subjects)
        self.subjects[duty_id] = subs
        self.load[duty_id] = load
        self.mentoring[duty_id] = mentoring
        self._order[duty_id] = self.rng.random()
        for s in sorted(subs):
            self._by_subject.setdefault(s, []).append(duty_id)

    def __len__(self) -> int:
        return len(self.subjects)

    def _key(self, duty_id: str) -> tuple[int, float]:
        return (self.load[duty_id], self._order[duty_id])

    def pick(self, subject: str, count: int, exclude: Iterable[str] = ()) -> list[str]:
        """``count`` distinct teachers for a subject (fewer if the unit has fewer)."""
        skip = set(exclude)
        qualified = [d for d in self._by_subject.get(subject, ()) if d not in skip]
        chosen = sorted(qualified, key=self._key)[:count]
        if len(chosen) < count:
            others = [d for d in self.subjects if d not in skip and d not in chosen]
            chosen += sorted(others, key=self._key)[: count - len(chosen)]
        for d in chosen:
            self.load[d] += 1
        return chosen

    def mentor(self) -> str | None:
        """The teacher with the fewest mentor groups (then the lightest load)."""
        if not self.subjects:
            return None
        best = min(self.subjects, key=lambda d: (self.mentoring[d], self.load[d], self._order[d]))
        self.mentoring[best] += 1
        return best


def _halves(rng: random.Random, pupils: list[str]) -> list[list[str]]:
    mixed = pupils[:]
    rng.shuffle(mixed)
    half = (len(mixed) + 1) // 2
    return [mixed[:half], mixed[half:]]


def _language_groups(
    rng: random.Random, classes: list[tuple[str, list[str]]]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Pupils choose a language; too-small choices fold into the biggest; big ones are split.

    Returns (language, [(pupil, class name)]) per group, in class order.
    """
    chosen: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGUAGES}
    for name, pupils in classes:
        for p in pupils:
            chosen[rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0]].append((p, name))
    while True:
        small = [lang for lang, ps in chosen.items() if 0 < len(ps) < MIN_GROUP]
        live = [lang for lang, ps in chosen.items() if ps]
        if not small or len(live) == 1:
            break
        smallest = min(small, key=lambda lang: len(chosen[lang]))
        biggest = max((lang for lang in live if lang != smallest), key=lambda x: len(chosen[x]))
        chosen[biggest] = sorted(chosen[biggest] + chosen.pop(smallest), key=lambda pc: pc[1])
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for lang, members in chosen.items():
        if not members:
            continue
        count = -(-len(members) // LANGUAGE_TARGET)
        size, extra = divmod(len(members), count)
        at = 0
        for i in range(count):
            n = size + (1 if i < extra else 0)
            out.append((lang, members[at : at + n]))
            at += n
    return out


def build_cohort(
    b: Builder,
    unit: Unit,
    year: int,
    school_year: int,
    classes: list[ClassPlan],
    pool: TeacherPool,
    start: str,
    end: str,
) -> list[tuple[str, str]]:
    """Make the Klass, teaching and Mentor groups and activities of one cohort.

    Returns (duty id, group id) mentor assignments for the caller to put on the duties.
    """
    rng = b.rng
    stype = school_type(unit.kind, year)
    named = [
        (klass_name(unit.kind, year, c.letter, c.programme and c.programme[0]), c) for c in classes
    ]
    mentors: list[tuple[str, str]] = []

    def mentor_for(group_id: str) -> None:
        duty = pool.mentor()
        if duty is not None:
            mentors.append((duty, group_id))

    for name, c in named:
        mentor_for(b.group(name, "Klass", stype, unit.id, c.pupils, start, end)["id"])

    mentor_groups = unit.kind == "GY" and rng.random() < MENTOR_GROUP_SHARE
    core: tuple[str, ...]
    extra: tuple[str, ...]
    if unit.kind == "GY":
        core, extra = CORE_GY, EXTRA_GY
    elif year >= 7:
        core, extra = CORE_HIGH, EXTRA_HIGH
    else:
        core, extra = CORE_LOW, (*EXTRA_LOW, "M2") if year == 6 else EXTRA_LOW
    teaching = rng.randint(7, 10 if mentor_groups else 11)
    subjects = list(core) + rng.sample(extra, min(len(extra), max(0, teaching - len(core))))

    def teach(subject: str, name: str, members: list[str]) -> None:
        group = b.group(name, "Undervisning", stype, unit.id, members, start, end)
        count = rng.choices(TEACHER_COUNTS, TEACHER_COUNT_WEIGHTS)[0]
        b.activity(subject, group["id"], unit.id, pool.pick(subject, count), start, end)

    sep = " " if unit.kind == "GY" else ""
    for subject in subjects:
        if subject == "M2":
            langs = _language_groups(rng, [(n, c.pupils) for n, c in named])
            seen: dict[str, int] = {}
            for lang, _ in langs:
                seen[lang] = seen.get(lang, 0) + 1
            index: dict[str, int] = {}
            for lang, members in langs:
                index[lang] = index.get(lang, 0) + 1
                names = "/".join(dict.fromkeys(cn for _, cn in members))
                suffix = f"-{index[lang]}" if seen[lang] > 1 else ""
                teach(lang, f"{lang} {names}{suffix}", [p for p, _ in members])
            continue
        share = SPLIT_SHARE.get(subject, SPLIT_SHARE_DEFAULT)
        for name, c in named:
            if len(c.pupils) >= 2 * MIN_GROUP and rng.random() < share:
                for i, half in enumerate(_halves(rng, c.pupils), 1):
                    teach(subject, f"{subject}{sep}{name}-{i}", half)
            else:
                teach(subject, f"{subject}{sep}{name}", c.pupils)

    if mentor_groups:
        for name, c in named:
            if len(c.pupils) >= 2 * MIN_GROUP:
                for i, half in enumerate(_halves(rng, c.pupils), 1):
                    g = b.group(f"Mentor {name}-{i}", "Mentor", stype, unit.id, half, start, end)
                    mentor_for(g["id"])
    return mentors
