"""Every generated object validates against Skolverket's SS 12000 JSON schemas.

Two documented relaxations, made explicitly here: only Skolenhet organisations carry a
schoolUnitCode, and an activity's parentActivity is optional.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from adapters.ss12000.sample.dataset import Dataset

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs" / "ss12000" / "schema"
SINGULAR = {
    "organisations": "organisation",
    "persons": "person",
    "duties": "duty",
    "groups": "group",
    "activities": "activity",
}

pytestmark = pytest.mark.skipif(
    not SCHEMA_DIR.is_dir(), reason=f"SS 12000 schemas not found at {SCHEMA_DIR}"
)


def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    schemas = {}
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        doc = orjson.loads(path.read_bytes())
        schemas[doc["$id"]] = doc
    registry: Registry = Registry().with_resources(
        (sid, Resource.from_contents(doc)) for sid, doc in schemas.items()
    )
    return registry, schemas


def _relaxed(schema: dict[str, Any], drop: str) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out["required"] = [r for r in out["required"] if r != drop]
    out["$id"] = f"{out['$id']}-without-{drop}"
    return out


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft202012Validator]:
    registry, schemas = _registry()
    fc = FormatChecker()

    def make(schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator(schema, registry=registry, format_checker=fc)

    out = {name: make(schemas[f"/schemas/{one}"]) for name, one in SINGULAR.items()}
    out["activities"] = make(_relaxed(schemas["/schemas/activity"], "parentActivity"))
    out["organisations-other"] = make(_relaxed(schemas["/schemas/organisation"], "schoolUnitCode"))
    return out


def _problems(
    ds: Dataset, validators: dict[str, Draft202012Validator], only_changed: bool = False
) -> list[str]:
    """Schema errors of every object, or only of those the last advance changed or made."""
    mark = f"{ds.manifest.as_of.isoformat()}T06:00:00Z"
    problems = []
    for entity, objs in ds.entities.items():
        for obj in objs:
            if only_changed and obj["meta"]["modified"] != mark:
                continue
            key = entity
            if entity == "organisations" and obj.get("organisationType") != "Skolenhet":
                key = "organisations-other"
            for err in validators[key].iter_errors(obj):
                problems.append(f"{entity} {obj.get('id')}: {err.json_path}: {err.message}")
    return problems


def test_fresh_dataset_validates(small: Dataset, validators: dict[str, Draft202012Validator]):
    assert all(small.entities[e] for e in SINGULAR), "every entity has objects"
    assert _problems(small, validators)[:5] == []


def test_advanced_dataset_validates(
    after_year: Dataset, validators: dict[str, Draft202012Validator]
):
    # Unchanged objects are the fresh ones validated above (test_sample_advance checks that
    # they are untouched), so only what the advance changed or made is validated again. A year
    # advance makes every kind of new object: pupils, enrolments, groups, activities, mentor
    # roles and teacher changes.
    assert _problems(after_year, validators, only_changed=True)[:5] == []


def test_relaxation_is_only_for_non_school_units(
    small: Dataset, validators: dict[str, Draft202012Validator]
):
    unit = next(o for o in small.entities["organisations"] if o["organisationType"] == "Skolenhet")
    broken = {k: v for k, v in unit.items() if k != "schoolUnitCode"}
    assert list(validators["organisations"].iter_errors(broken)), "a unit needs its code"


def test_validator_catches_a_bad_object(validators: dict[str, Draft202012Validator]):
    bad = {"id": "not-a-uuid", "displayName": "7B", "groupType": "Klass"}
    messages = [e.message for e in validators["groups"].iter_errors(bad)]
    assert any("uuid" in m for m in messages)
    assert any("organisation" in m for m in messages)
