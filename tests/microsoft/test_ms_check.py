"""``ess target check`` for Microsoft 365 against the sandbox over HTTPS: the granted application
permissions read from the app's appRoleAssignments (or, without Application.Read.All, from the
token's roles), the domain and the licence SKUs; each missing piece one line naming its fix."""

from __future__ import annotations

import json

import pytest
from ms_support import SECRET_ENV, build_target, settings_for
from typer.testing import CliRunner

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.sandbox.server import DOMAIN
from adapters.microsoft.sandbox.settings import DEFAULT_PERMISSIONS
from adapters.microsoft.target import MicrosoftTarget
from console.cli import app
from engine.config import TenantPolicy
from engine.secrets import SecretResolver
from engine.target import CheckResult, CheckStatus
from tests.conftest import Workdir

STUDENT_SKU = "314c4481-f395-4525-be8b-2ec4bb1e9d91"
TEACHER_SKU = "94763226-9b3c-4e75-a931-5c89701abe66"


async def run_check(sandbox: MicrosoftSandbox, **overrides: object) -> dict[str, CheckResult]:
    target = build_target(sandbox.info, **{"domain": DOMAIN, **overrides})
    try:
        return {r.item: r for r in await target.check()}
    finally:
        await target.aclose()


def missing(results: dict[str, CheckResult]) -> list[str]:
    return [k for k, r in results.items() if r.status is CheckStatus.MISSING]


def without(*names: str) -> tuple[str, ...]:
    return tuple(p for p in DEFAULT_PERMISSIONS if p not in names)


async def test_a_tenant_set_up_as_documented_misses_nothing(ms_sandbox: MicrosoftSandbox) -> None:
    results = await run_check(
        ms_sandbox, student_license_sku=STUDENT_SKU, teacher_license_sku=TEACHER_SKU
    )
    assert missing(results) == []
    assert results["sign-in"].status is CheckStatus.OK
    assert "granted permissions" not in results  # read from appRoleAssignments, no fallback
    assert results["permission LicenseAssignment.ReadWrite.All"].status is CheckStatus.OK
    assert results[f"domain {DOMAIN}"].detail == "verified"
    assert results["licence student_license_sku"].detail == "STANDARDWOFFPACK_STUDENT, 988 free"


async def test_a_permission_not_granted_is_one_line_naming_the_consent(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    ms_sandbox.settings.granted_permissions = without("TeamSettings.ReadWrite.All")
    results = await run_check(ms_sandbox)
    assert missing(results) == ["permission TeamSettings.ReadWrite.All"]
    fix = results["permission TeamSettings.ReadWrite.All"].fix
    assert "TeamSettings.ReadWrite.All" in fix and "admin consent" in fix
    # a configuration that never archives teams does not need it
    assert missing(await run_check(ms_sandbox, team_archive_on_end=False)) == []


async def test_team_create_is_covered_by_group_read_write(ms_sandbox: MicrosoftSandbox) -> None:
    ms_sandbox.settings.granted_permissions = without("Team.Create")
    assert missing(await run_check(ms_sandbox)) == []
    ms_sandbox.settings.granted_permissions = without("Team.Create", "Group.ReadWrite.All")
    assert missing(await run_check(ms_sandbox)) == [
        "permission Group.ReadWrite.All",
        "permission Team.Create",
    ]


async def test_without_application_read_the_token_roles_are_read(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    ms_sandbox.settings.granted_permissions = without(
        "Application.Read.All", "EduRoster.ReadWrite.All"
    )
    results = await run_check(ms_sandbox)
    assert results["granted permissions"].status is CheckStatus.SKIPPED
    assert "Application.Read.All" in results["granted permissions"].detail
    assert missing(results) == ["permission EduRoster.ReadWrite.All"]


async def test_a_domain_missing_or_unverified_is_named(ms_sandbox: MicrosoftSandbox) -> None:
    results = await run_check(ms_sandbox, domain="skola.example")
    assert missing(results) == ["domain skola.example"]
    assert "add and verify" in results["domain skola.example"].fix
    ms_sandbox.settings.unverified_domains = ("skola.example",)
    results = await run_check(ms_sandbox, domain="skola.example")
    assert results["domain skola.example"].detail == "added but not verified"
    ms_sandbox.settings.granted_permissions = without("Domain.Read.All")
    results = await run_check(ms_sandbox, domain="skola.example")
    assert results["domain skola.example"].status is CheckStatus.SKIPPED


async def test_licences_not_subscribed_or_used_up_are_named(ms_sandbox: MicrosoftSandbox) -> None:
    ms_sandbox.settings.exhausted_skus = (TEACHER_SKU,)
    unknown = "0000aaaa-0000-4000-8000-000000000000"
    results = await run_check(
        ms_sandbox, student_license_sku=unknown, teacher_license_sku=TEACHER_SKU
    )
    assert missing(results) == ["licence student_license_sku", "licence teacher_license_sku"]
    assert (
        "not a licence this tenant subscribes to" in results["licence student_license_sku"].detail
    )
    assert "no free licences" in results["licence teacher_license_sku"].detail


async def test_a_wrong_secret_is_a_refused_sign_in_naming_the_fix(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    wrong = SecretResolver(environ={SECRET_ENV: "not-the-secret"})
    settings = settings_for(ms_sandbox.info, domain=DOMAIN)
    target = MicrosoftTarget.from_config("microsoft", settings, TenantPolicy(), wrong)
    try:
        (only,) = await target.check()
    finally:
        await target.aclose()
    assert only.item == "sign-in" and only.status is CheckStatus.MISSING
    assert "client secret is wrong" in only.fix


def write_config(w: Workdir, sandbox: MicrosoftSandbox) -> None:
    ms = settings_for(sandbox.info, domain=DOMAIN)
    lines = "\n".join(f"{k} = {json.dumps(str(v))}" for k, v in ms.items())
    w.config.write_text(
        w.config.read_text(encoding="utf-8") + f"\n[tenants.alpha.targets.m365]\n{lines}\n",
        encoding="utf-8",
    )


def test_cli_target_check_exit_codes_and_lines(
    workdir: Workdir, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    write_config(workdir, ms_sandbox)
    runner = CliRunner()

    def ess(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, ["--config", str(workdir.config), *args])
        return r.exit_code, r.output

    rc, out = ess("target", "check", "alpha", "m365")
    assert rc == 0, out
    assert "alpha / m365 (microsoft): nothing missing" in out
    ms_sandbox.settings.granted_permissions = without("User.ReadWrite.All")
    rc, out = ess("target", "check", "alpha")
    assert rc == 1, out
    assert "alpha / mem (memory): nothing missing" in out
    assert "skipped  check: the MemoryTarget target has no check of its own" in out
    (line,) = [ln for ln in out.splitlines() if "MISSING" in ln]
    assert "permission User.ReadWrite.All" in line and "-> fix: grant" in line
    assert ms_sandbox.info.client_secret not in out
    rc, out = ess("target", "check", "alpha", "nope")
    assert rc == 2 and "nope" in out
    rc, out = ess("target", "check", "alpha", "m365", "--json")
    assert rc == 1 and json.loads(out)[0]["items"][0]["status"] == "ok"
    rc, out = ess("audit", "list", "alpha", "--json")
    assert any(a["action"] == "target_check" for a in json.loads(out))


async def test_the_credentials_end_dates_are_shown_and_an_expired_one_is_missing(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    ms_sandbox.settings.client_secret_days = 12.5
    results = await run_check(ms_sandbox)
    secret = results["client secret 'ESS sync' of the app"]
    assert secret.status is CheckStatus.OK and secret.detail.endswith("(in 12 days)")
    assert results["certificate 'CN=ESS sandbox client' of the app"].status is CheckStatus.OK
    ms_sandbox.settings.client_secret_days = -1
    results = await run_check(ms_sandbox)
    assert missing(results) == ["client secret 'ESS sync' of the app"]
    assert "create a new client secret" in results["client secret 'ESS sync' of the app"].fix
    ms_sandbox.settings.granted_permissions = without("Application.Read.All")
    results = await run_check(ms_sandbox)
    assert results["credential end dates"].status is CheckStatus.SKIPPED


async def test_the_mcp_tool_answers_what_the_command_does(
    workdir: Workdir, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp import Client
    from mcp.types import Implementation

    from engine.ops import Ops
    from server.app import build_server

    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    write_config(workdir, ms_sandbox)
    ms_sandbox.settings.granted_permissions = without("Group.ReadWrite.All")
    async with await Ops.open(workdir.config, actor="mcp:test", read_only=True) as ops:
        server = build_server(ops, allow_writes=False, toolsets={"status"})
        async with Client(server, client_info=Implementation(name="t", version="1")) as client:
            result = await client.call_tool("check_target", {"tenant": "alpha", "target": "m365"})
            unknown = await client.call_tool("check_target", {"tenant": "alpha", "target": "x"})
    assert not result.is_error and result.structured_content is not None
    (check,) = result.structured_content["checks"]
    assert check["missing"] == 1 and check["type"] == "microsoft"
    (item,) = [i for i in check["items"] if i["status"] == "missing"]
    assert item["item"] == "permission Group.ReadWrite.All" and "admin consent" in item["fix"]
    assert "1 item(s) missing" in result.structured_content["next_steps"]
    assert ms_sandbox.info.client_secret not in str(result.model_dump())
    assert unknown.is_error and "x" in str(unknown.content)
