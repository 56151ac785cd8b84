"""The SCIM check (discovery, auth, the profile's schemas, one page) against the sandbox."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from adapters.scim.check import check_service
from adapters.scim.config import ScimConfig
from adapters.scim.sandbox import ScimSandbox
from console.cli import app
from engine.secrets import SecretResolver
from tests.conftest import Workdir


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


def test_ess_target_check_runs_the_scim_check(
    core: ScimSandbox, workdir: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ess target check` reaches the SCIM target's own check (not the default "no check")."""
    monkeypatch.setenv("ESS_TEST_SCIM_TOKEN", core.info.bearer_token)
    workdir.config.write_text(
        workdir.config.read_text(encoding="utf-8")
        + "\n[tenants.alpha.targets.lms]\n"
        + 'type = "scim"\n'
        + f"base_url = {json.dumps(core.info.base_url)}\n"
        + 'token = "env:ESS_TEST_SCIM_TOKEN"\n'
        + f"verify = {json.dumps(str(core.info.ca_path))}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(workdir.config), "target", "check", "alpha", "lms"])
    assert ok.exit_code == 0, ok.output
    assert "alpha / lms (scim): nothing missing" in ok.output
    assert "no check of its own" not in ok.output
    monkeypatch.setenv("ESS_TEST_SCIM_TOKEN", "wrong-token-value")
    bad = runner.invoke(app, ["--config", str(workdir.config), "target", "check", "alpha", "lms"])
    assert bad.exit_code == 1, bad.output
    (line,) = [ln for ln in bad.output.splitlines() if "MISSING" in ln]
    assert "auth" in line and "wrong-token-value" not in bad.output
