"""The mapping under the tenant's policy and the target's settings: protected identities
left out or masked, no personnummer, the parent org, and a settings table with a mistake
refused with a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.sds.config import SdsConfig
from adapters.sds.target import SdsTarget
from engine.config import TenantPolicy
from engine.model import Protection
from engine.secrets import SecretResolver
from engine.testing.builder import tiny_snapshot


def target(tmp_path: Path, policy: TenantPolicy | None = None, **settings: object) -> SdsTarget:
    table = {"type": "sds", "folder": str(tmp_path / "feed"), **settings}
    return SdsTarget.from_config("sds", table, policy or TenantPolicy(), SecretResolver())


def users(t: SdsTarget, snap: object) -> dict[str, dict[str, str]]:
    desired = t.desired(snap)  # type: ignore[arg-type]
    return {k: dict(o.attrs) for k, o in desired.objects["user"].items()}


def test_protected_identities_are_left_out_or_masked(tmp_path: Path) -> None:
    snap = tiny_snapshot(protected_share=0.2, seed=3)
    hidden = {p.id for p in snap.persons.values() if p.protection is not Protection.NONE}
    assert hidden
    excluded = users(target(tmp_path), snap)
    assert not hidden & set(excluded)

    masked = users(target(tmp_path, TenantPolicy(protected_identity="mask")), snap)
    in_set = hidden & set(masked)
    assert in_set
    for pid in in_set:
        person, row = snap.persons[pid], masked[pid]
        assert row["givenName"] in ("Elev", "Personal")
        assert person.family_name not in row["familyName"]
        assert row["email"] == ""


def test_no_personnummer_reaches_a_row(tmp_path: Path) -> None:
    snap = tiny_snapshot(seed=5)
    civic = {p.civic_no for p in snap.persons.values() if p.civic_no}
    assert civic
    desired = target(tmp_path).desired(snap)
    text = repr([o.attrs for table in desired.objects.values() for o in table.values()])
    assert not any(c in text for c in civic)


def test_the_parent_org_heads_every_school(tmp_path: Path) -> None:
    snap = tiny_snapshot(seed=2)
    t = target(tmp_path, parent_org_id="nacka", parent_org_name="Nacka kommun")
    orgs = {k: dict(o.attrs) for k, o in t.desired(snap).objects["org"].items()}
    assert orgs["nacka"]["type"] == "municipality"
    schools = [r for k, r in orgs.items() if k != "nacka"]
    assert schools and all(r["parentSourcedId"] == "nacka" for r in schools)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"delivery": "upload"}, "tenant_id, client_id, client_secret, data_connector_id"),
        ({"client_secret": "hunter2"}, "client_secret"),
        ({"parent_org_id": "x"}, "parent_org_id and parent_org_name go together"),
        ({"graph_url": "http://graph"}, "graph_url"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_settings_mistake_is_named(
    tmp_path: Path, settings: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        SdsConfig.model_validate({"folder": str(tmp_path), **settings})


def test_a_relative_folder_is_relative_to_the_config(tmp_path: Path) -> None:
    t = SdsTarget.from_config(
        "sds", {"folder": "feed"}, TenantPolicy(), SecretResolver(base_dir=tmp_path)
    )
    assert t.config.folder == tmp_path / "feed"
