"""Everything the sandbox serves validates against the published SS 12000 schemas (Skolverket's
profile), with the two exceptions in ../shared/README.md: only school units carry a
schoolUnitCode, and an activity's parentActivity is optional."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from ss12000_helpers import AS_OF

from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SandboxSettings, SS12000Sandbox

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "ss12000" / "schema"
ENTITY_SCHEMA = {
    "organisations": "organisation",
    "persons": "person",
    "duties": "duty",
    "groups": "group",
    "activities": "activity",
}


def validators() -> dict[str, Draft202012Validator]:
    docs = {p.name: orjson.loads(p.read_bytes()) for p in SCHEMAS.glob("*.schema.json")}
    activity = copy.deepcopy(docs["activity.schema.json"])
    activity["required"].remove("parentActivity")
    docs["activity.schema.json"] = activity
    unitless = copy.deepcopy(docs["organisation.schema.json"])
    unitless["required"].remove("schoolUnitCode")
    unitless["$id"] = "/schemas/organisation-not-a-unit"
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in [*docs.values(), unitless]
    )
    out = {
        name: Draft202012Validator(
            registry.contents(f"/schemas/{schema}"),
            registry=registry,
            format_checker=FormatChecker(),
        )
        for name, schema in ENTITY_SCHEMA.items()
    }
    out["organisations-other"] = Draft202012Validator(
        unitless, registry=registry, format_checker=FormatChecker()
    )
    return out


async def served(base_url: str, token_url: str, cid: str, secret: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with httpx.AsyncClient() as http:
        form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
        token = (await http.post(token_url, data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for entity in ENTITY_SCHEMA:
            params: dict[str, str] = {"limit": "200"}
            out[entity] = []
            while True:
                page = (
                    await http.get(f"{base_url}/{entity}", params=params, headers=headers)
                ).json()
                out[entity] += page["data"]
                if page["pageToken"] is None:
                    break
                params = {"pageToken": page["pageToken"]}
            one = out[entity][0]
            single = await http.get(f"{base_url}/{entity}/{one['id']}", headers=headers)
            assert single.json() == one
    return out


@pytest.mark.parametrize("profile", ["generic", "ist", "edlevo"])
async def test_every_served_object_validates_against_the_schemas(profile: str) -> None:
    dataset = generate(80, 2, AS_OF)
    check = validators()
    async with SS12000Sandbox(dataset, settings=SandboxSettings(profile=profile)) as sandbox:
        info = sandbox.info
        objects = await served(info.base_url, info.token_url, info.client_id, info.client_secret)
        sandbox.advance("year")
        after = await served(info.base_url, info.token_url, info.client_id, info.client_secret)
    problems = []
    for batch in (objects, after):
        for entity, records in batch.items():
            assert records, entity
            for rec in records:
                key = entity
                if entity == "organisations" and rec.get("organisationType") != "Skolenhet":
                    key = "organisations-other"
                problems += [
                    f"{entity} {rec.get('id')}: {e.message}" for e in check[key].iter_errors(rec)
                ]
    assert problems == []


def test_the_validators_do_catch_a_broken_object() -> None:
    check = validators()
    bad_group = {"id": "not-a-uuid", "displayName": "x", "groupType": "Okänd"}
    errors = [e.message for e in check["groups"].iter_errors(bad_group)]
    assert any("Okänd" in e for e in errors)
    assert any("organisation" in e for e in errors)
    assert any("uuid" in e for e in errors)
