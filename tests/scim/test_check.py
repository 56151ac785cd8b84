"""The SCIM check (discovery, auth, the profile's schemas, one page) against the sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from adapters.scim.check import check_service
from adapters.scim.config import ScimConfig
from adapters.scim.sandbox import ScimSandbox
from engine.secrets import SecretResolver


@pytest.fixture(scope="module")
def core() -> Iterator[ScimSandbox]:
    with ScimSandbox() as sandbox:
        sandbox.start()
        yield sandbox


def _config(sb: ScimSandbox, profile: str = "core") -> ScimConfig:
    return ScimConfig(
        base_url=sb.info.base_url,
        profile=profile,  # type: ignore[arg-type]
        token="env:ESS_TEST_SCIM_TOKEN",
        verify=sb.info.ca_path,  # type: ignore[arg-type]
    )


async def test_a_good_service_passes_every_check(
    core: ScimSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_SCIM_TOKEN", core.info.bearer_token)
    items = await check_service(_config(core), SecretResolver())
    assert [(i.name, i.ok) for i in items] == [
        ("discovery", True),
        ("schemas", True),
        ("auth", True),
        ("read", True),
    ]
    assert "Bulk yes" in items[0].detail


async def test_a_wrong_token_fails_auth_without_naming_it(
    core: ScimSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_SCIM_TOKEN", "wrong-token-value")
    items = await check_service(_config(core), SecretResolver())
    failed = [i for i in items if not i.ok]
    assert [i.name for i in failed] == ["auth"]
    assert "wrong-token-value" not in " ".join(i.detail for i in items)
    assert os.environ["ESS_TEST_SCIM_TOKEN"] == "wrong-token-value"


async def test_the_egil_profile_needs_the_sis_schemas(
    core: ScimSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_SCIM_TOKEN", core.info.bearer_token)
    items = await check_service(_config(core, "egil"), SecretResolver())
    schemas = next(i for i in items if i.name == "schemas")
    assert not schemas.ok
    assert "StudentGroup" in schemas.detail and "Activity" in schemas.detail
