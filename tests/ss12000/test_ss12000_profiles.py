"""Vendor profiles: URLs built from config, and each vendor's deviations read correctly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from ss12000_helpers import context, same_snapshot, source_for

from adapters.ss12000.config import SS12000Config
from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sandbox import SandboxSettings, SS12000Sandbox
from adapters.ss12000.source import SS12000ConfigError, SS12000Source
from engine.model import GroupType
from engine.secrets import SecretResolver

SECRET = {"client_id": "c", "client_secret": "env:S"}


def test_ist_urls_are_built_from_the_customer_id() -> None:
    cfg = SS12000Config(profile="ist", customer_id="SE00100", **SECRET)
    assert cfg.resolved_base_url == "https://api.ist.com/ss12000v2-api/source/SE00100/v2.0"
    assert cfg.resolved_token_url == "https://skolid.se/connect/token"
    override = SS12000Config(
        profile="ist", base_url="http://127.0.0.1:9/x", token_url="http://127.0.0.1:9/t", **SECRET
    )
    assert override.resolved_base_url == "http://127.0.0.1:9/x"
    assert override.resolved_token_url == "http://127.0.0.1:9/t"


def test_edlevo_urls_come_from_the_server_and_paging_can_be_turned_off() -> None:
    cfg = SS12000Config(profile="edlevo", server="education.service.tieto.com", **SECRET)
    assert cfg.resolved_base_url == (
        "https://education.service.tieto.com/WE.Education.IntegrationPortal.ExternalApi/api/v1"
    )
    assert cfg.resolved_token_url == (
        "https://education.service.tieto.com/WE.Education.IdentityServer.Web/connect/token"
    )
    assert cfg.resolved_paging is True
    assert (
        SS12000Config(profile="edlevo", server="x.se", paging=False, **SECRET).resolved_paging
        is False
    )


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"profile": "ist", **SECRET}, "customer_id or base_url"),
        ({"profile": "edlevo", **SECRET}, "server or base_url"),
        ({"base_url": "https://x.se/v2.0", **SECRET}, "token_url"),
        ({"base_url": "https://x.se", "token_url": "https://x.se/t"}, "client_id, client_secret"),
        ({"path": "/tmp/x", "base_url": "https://x.se"}, "cannot be combined with base_url"),
        ({"base_url": "ftp://x.se", "token_url": "https://x.se/t", **SECRET}, "not an http"),
        ({"path": "/tmp/x", "client_secret": "hunter2"}, "secret must be a reference"),
        ({"path": "/tmp/x", "colour": "blue"}, "colour"),
        ({"profile": "procapita", "path": "/tmp/x"}, "profile"),
        ({"server": "https://x.se/", "profile": "edlevo", **SECRET}, "host name only"),
    ],
)
def test_wrong_config_gets_a_clear_error(settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError) as err:
        SS12000Config.model_validate({"type": "ss12000", **settings})
    assert words in str(err.value)
    with pytest.raises(SS12000ConfigError) as err2:
        SS12000Source.from_config({"type": "ss12000", **settings}, SecretResolver(environ={}))
    assert words.split()[0] in str(err2.value)
    assert "hunter2" not in str(err2.value)


def test_from_config_resolves_the_secret_reference() -> None:
    settings = {"type": "ss12000", "base_url": "https://x.se", "token_url": "https://x.se/t"}
    settings.update(SECRET)
    with pytest.raises(SS12000ConfigError) as err:
        SS12000Source.from_config(settings, SecretResolver(environ={}))
    assert "environment variable S" in str(err.value)
    source = SS12000Source.from_config(settings, SecretResolver(environ={"S": "shh"}))
    assert source.config.client_id == "c"


async def test_ist_profile_is_served_and_read(small_dataset: Dataset) -> None:
    async with SS12000Sandbox(small_dataset, settings=SandboxSettings(profile="ist")) as sandbox:
        assert "/ss12000v2-api/source/SE00100/v2.0" in sandbox.info.base_url
        assert sandbox.info.token_url.endswith("/connect/token")
        source = source_for(sandbox.info)
        read = await source.read(context())
        await source.aclose()
    assert read.stats["persons"] == small_dataset.counts()["persons"]


async def test_edlevo_deviations_map_to_the_same_schools_and_teachers(
    small_dataset: Dataset,
) -> None:
    async with SS12000Sandbox(small_dataset) as generic:
        source = source_for(generic.info)
        plain = (await source.read(context())).snapshot
        await source.aclose()
    async with SS12000Sandbox(small_dataset, settings=SandboxSettings(profile="edlevo")) as sb:
        served = sb._service.store.current.records
        source = source_for(sb.info)
        edlevo = (await source.read(context())).snapshot
        await source.aclose()
    org_types = {o["id"]: o["organisationType"] for o in served["organisations"]}
    assert set(org_types.values()) == {"Skola", "Skolenhet"}
    assert all(org_types[g["organisation"]["id"]] == "Skola" for g in served["groups"])
    assert all(org_types[d["dutyAt"]["id"]] == "Skola" for d in served["duties"])
    assert all(len(a["groups"]) == 1 for a in served["activities"])
    assert all(a["calendarEventsRequired"] is True for a in served["activities"])
    # groups hung on a Skola land on the same school unit as in the standard layout
    assert edlevo.groups
    for gid, group in edlevo.groups.items():
        assert group.school_id == plain.groups[gid].school_id
        assert group.group_type in {
            GroupType.UNDERVISNING,
            GroupType.KLASS,
            GroupType.AVDELNING,
            GroupType.OVRIGT,
        }
    # the same school units, now under a Skola (a made-up one where the unit had none)
    assert {(s.id, s.name, s.school_unit_code) for s in edlevo.schools.values()} == {
        (s.id, s.name, s.school_unit_code) for s in plain.schools.values()
    }
    teachers = {m for m in plain.memberships if m.group_id in edlevo.groups}
    assert teachers == set(edlevo.memberships)
    assert {r.key for r in edlevo.school_roles} >= {
        r.key for r in plain.school_roles if r.role.value == "student"
    }


async def test_edlevo_without_paging_reads_each_listing_in_one_request(
    small_dataset: Dataset,
) -> None:
    settings = SandboxSettings(profile="edlevo", paging=False)
    async with SS12000Sandbox(small_dataset, settings=settings) as sandbox:
        source = source_for(sandbox.info, paging=False, page_size=5)
        unpaged = await source.read(context())
        await source.aclose()
        pages = sandbox.stats()["pages"]
        source = source_for(sandbox.info, page_size=5)
        ignored = await source.read(context())  # a server without paging ignores limit
        await source.aclose()
    assert pages == 5
    same_snapshot(unpaged.snapshot, ignored.snapshot)
