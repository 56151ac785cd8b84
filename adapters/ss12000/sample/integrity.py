"""Referential integrity of a dataset: every reference must point at an object that exists.

Used by the tests and useful to anyone loading a customer's saved pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.ss12000.sample.dataset import Dataset

# (entity, path to a reference, the entity it points into); "[]" steps into a list.
REFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("organisations", ("parentOrganisation",), "organisations"),
    ("persons", ("enrolments", "[]", "enroledAt"), "organisations"),
    ("duties", ("person",), "persons"),
    ("duties", ("dutyAt",), "organisations"),
    ("duties", ("assignmentRole", "[]", "group"), "groups"),
    ("groups", ("organisation",), "organisations"),
    ("groups", ("groupMemberships", "[]", "person"), "persons"),
    ("activities", ("organisation",), "organisations"),
    ("activities", ("groups", "[]"), "groups"),
    ("activities", ("teachers", "[]", "duty"), "duties"),
)


def _follow(value: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield value
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        for item in value if isinstance(value, list) else ():
            yield from _follow(item, rest)
    elif isinstance(value, dict) and step in value:
        yield from _follow(value[step], rest)


def dangling_references(ds: Dataset, limit: int = 20) -> list[str]:
    """Up to ``limit`` descriptions of references to objects that are not in the dataset,
    and of deleted ids that are still present."""
    ids = {name: {o["id"] for o in objs} for name, objs in ds.entities.items()}
    problems: list[str] = []
    for entity, path, target in REFERENCES:
        known = ids.get(target, set())
        for obj in ds.entities.get(entity, ()):
            for ref in _follow(obj, path):
                ref_id = ref.get("id") if isinstance(ref, dict) else None
                if ref_id not in known:
                    problems.append(
                        f"{entity} {obj['id']}: {'.'.join(path)} -> missing {target} {ref_id}"
                    )
                    if len(problems) >= limit:
                        return problems
    for d in ds.deletions:
        if d.id in ids.get(d.entity, set()):
            problems.append(f"{d.entity} {d.id}: deleted but still present")
            if len(problems) >= limit:
                break
    return problems
