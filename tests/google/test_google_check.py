"""``ess target check`` for Google Workspace against the sandbox over HTTPS: a token for each
admin subject, the delegated scopes, the Directory API and Classroom data access, each missing
piece one result naming the Admin console fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.google.auth import SCOPES
from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from adapters.google.target import GoogleTarget
from engine.config import TenantPolicy
from engine.secrets import SecretResolver
from engine.target import CheckResult, CheckStatus
from tests.google.test_google_end_to_end import KEY_ENV, settings_for


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running


async def run_check(sb: GoogleSandbox, **overrides: Any) -> dict[str, CheckResult]:
    secrets = SecretResolver(environ={KEY_ENV: Path(sb.info.key_file).read_text()})
    target = GoogleTarget.from_config(
        "google", settings_for(sb, **overrides), TenantPolicy(), secrets
    )
    try:
        return {r.item: r for r in await target.check()}
    finally:
        await target.aclose()


def missing(results: dict[str, CheckResult]) -> list[str]:
    return [k for k, r in results.items() if r.status is CheckStatus.MISSING]


async def test_a_tenant_set_up_misses_nothing_for_every_admin(sandbox: GoogleSandbox) -> None:
    subjects = list(sandbox.info.admin_subjects)
    results = await run_check(sandbox, admin_subjects=subjects)
    assert missing(results) == []
    assert [k for k in results if k.startswith("token for")] == [f"token for {s}" for s in subjects]
    assert results["Classroom API"].status is CheckStatus.OK
    assert results["Directory API"].status is CheckStatus.OK


async def test_a_scope_not_delegated_names_the_scopes_to_delegate(sandbox: GoogleSandbox) -> None:
    sandbox.settings.delegated_scopes = tuple(SCOPES[:-1])
    try:
        results = await run_check(sandbox)
    finally:
        sandbox.settings.delegated_scopes = tuple(SCOPES)
    (item,) = missing(results)
    assert item.startswith("token for")
    assert "Domain-wide delegation" in results[item].fix and SCOPES[-1] in results[item].fix


async def test_an_unknown_admin_subject_is_named(sandbox: GoogleSandbox) -> None:
    stranger = f"nobody@{sandbox.info.domain}"
    results = await run_check(sandbox, admin_subjects=[sandbox.info.admin_subjects[0], stranger])
    assert missing(results) == [f"token for {stranger}"]
    assert "admin subject" in results[f"token for {stranger}"].fix


async def test_classroom_data_access_off_is_named(sandbox: GoogleSandbox) -> None:
    sandbox.settings.classroom_api_enabled = False
    try:
        results = await run_check(sandbox)
    finally:
        sandbox.settings.classroom_api_enabled = True
    assert missing(results) == ["Classroom API"]
    assert "Classroom > Data access" in results["Classroom API"].fix
