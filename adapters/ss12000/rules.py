"""The rules of SS 12000 itself, over the model: what a snapshot read from an SS 12000 source
must hold that another standard need not (an IMS or OneRoster school has no skolenhetskod).

The engine runs them after its own (engine/validate.py) because the source declares them
(``SS12000Source.rules``); they are data, one :class:`engine.rules.Rule` each.
"""

from __future__ import annotations

from engine.findings import Severity
from engine.rules import Facts, Hits, Rule, quoted

ORIGIN = "ss12000"


def _no_school_unit_code(facts: Facts) -> Hits:
    for s in facts.snap.schools.values():
        if not s.school_unit_code:
            yield s.id, f"school unit {quoted(s.name)} has no schoolUnitCode"


RULES: tuple[Rule, ...] = (
    Rule(
        "ss12000.no_school_unit_code",
        Severity.WARNING,
        "school",
        "Enter the skolenhetskod from Skolverket's register on the school unit.",
        _no_school_unit_code,
        ORIGIN,
    ),
)
