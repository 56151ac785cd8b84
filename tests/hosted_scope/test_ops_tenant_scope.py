"""An engineer limited to some tenants, enforced in the ops facade itself: every public query
and command of :class:`engine.ops.Ops` is enumerated, so one added later without the scope
check fails here. Another tenant's rows never show; acting on another tenant is refused and
audited; its runs, items and elevations are "not found", worded as a missing one is."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.config import ConfigError, load
from engine.monitoring import Monitor, TrafficLedger
from engine.ops import NotFound, Ops, OutOfScope, PolicyRefused
from engine.tenant_scope import EVERY_TENANT, TenantScope, operator_scope
from tests.conftest import Workdir
from tests.hosted_scope.scope_support import (
    ME,
    OTHER,
    SERVED,
    Rows,
    config_text,
    fill_two,
    opened,
)

ONLY_ALPHA = TenantScope(frozenset({SERVED}), "operator eva")

BY_ID = {"run_id": "run", "op_id": "item", "op_ids": "item", "elevation_id": "elevation"}
"""Parameters naming a row by id: one of another tenant is "not found"."""

LISTINGS = {"tenants", "failures", "count_failures", "held_plans", "search", "elevations"}
LISTINGS |= {"audit", "approvers", "agents"}
"""Queries that list rows of every tenant when given none: checked row by row below."""

INSTALLATION = {
    "change_marker": "a token that moves on any commit: it names no tenant",
    "audit_head": "the chain's newest id and hash: no tenant's content",
    "verify_audit": "checks the chain's hashes; the verdict names no tenant",
    "apply_retention": "removes what is past its keeping time, by age alone",
    "send_audit_head": "queues for the served tenants only (see the test)",
    "send_credential_warnings": "asks the served tenants' targets only",
    "audit_head_sent": "over the served tenants only",
    "deliver_notices": "refused to a limited actor (see the test)",
    "close": "closes the journal",
}
"""Commands of the whole installation, each with why it needs no tenant check."""

DUMMIES: dict[str, Any] = {
    "key": "u1",
    "record_type": "person",
    "cause": "x",
    "query": "berg",
    "name": "rektor",
    "public_key": "a2V5",
    "reason": "why",
    "keys": None,
    "action": "sync",
    "approver": "rektor",
    "signature": "c2ln",
}


def public_coroutines() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(Ops, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "open"
    }


def _args(sig: inspect.Signature, ids: Rows) -> dict[str, Any]:
    values = {
        "tenant_id": OTHER,
        "run_id": ids.run,
        "op_id": ids.item,
        "op_ids": [ids.item],
        "elevation_id": ids.elevation,
        **DUMMIES,
    }
    wanted = [p for p in sig.parameters.values() if p.name != "self"]
    return {p.name: values[p.name] for p in wanted if p.name in values}


@pytest.fixture(params=["sqlite", "postgresql"])
def config(workdir: Workdir, request: pytest.FixtureRequest) -> Path:
    """Both journals: hosted mode is where engineers are limited, and its journal is
    PostgreSQL's."""
    text = config_text()
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_dsn")
        text = text.replace('[journal]\npath = "ess.db"\n', f'[journal]\nurl = "{url}"\n')
    workdir.config.write_text(text, encoding="utf-8")
    return workdir.config


async def _filled(config: Path) -> Rows:
    async with await opened(config, None) as ops:
        return await fill_two(ops.journal)


def test_every_public_query_and_command_is_classified() -> None:
    found = set(public_coroutines())
    by_tenant = {n for n, s in public_coroutines().items() if "tenant_id" in s.parameters}
    by_id = {n for n, s in public_coroutines().items() if set(s.parameters) & set(BY_ID)}
    unclassified = found - by_tenant - by_id - LISTINGS - set(INSTALLATION)
    assert not unclassified, f"say how these respect the tenant scope: {sorted(unclassified)}"
    assert found >= LISTINGS | set(INSTALLATION)


async def test_each_command_on_another_tenant_is_refused_and_audited(config: Path) -> None:
    ids = await _filled(config)
    ops = await opened(config, ONLY_ALPHA)
    try:
        for name, sig in sorted(public_coroutines().items()):
            if "tenant_id" not in sig.parameters:
                continue
            with pytest.raises(OutOfScope) as refused:
                await getattr(ops, name)(**_args(sig, ids))
            assert "beta is not among the tenants operator eva may serve (alpha)" in str(
                refused.value
            ), name
            (row, *_) = await ops.journal.list_audit(OTHER, 1)
            assert (row.actor, row.allowed) == ("test:eva", False), name
            assert "outside the actor's tenants" in row.detail, name
    finally:
        await ops.close()


async def test_another_tenants_run_item_or_elevation_is_not_found(config: Path) -> None:
    ids = await _filled(config)
    ops = await opened(config, ONLY_ALPHA)
    try:
        checked = 0
        for name, sig in sorted(public_coroutines().items()):
            named = set(sig.parameters) & set(BY_ID)
            if not named or "tenant_id" in sig.parameters:
                continue
            with pytest.raises(NotFound) as hidden:
                await getattr(ops, name)(**_args(sig, ids))
            (row, *_) = await ops.journal.list_audit(OTHER, 1)
            assert not row.allowed and "outside the actor's tenants" in row.detail, name
            assert "beta" not in str(hidden.value), name
            checked += 1
        assert checked >= 10
        with pytest.raises(NotFound) as missing:
            await ops.run(999_999)
        with pytest.raises(NotFound) as hidden:
            await ops.run(ids.run)
        assert str(hidden.value).replace(str(ids.run), "N") == str(missing.value).replace(
            "999999", "N"
        )
    finally:
        await ops.close()


async def test_listings_show_the_served_tenants_rows_only(config: Path) -> None:
    await _filled(config)
    everyone = await opened(config, None)
    ops = everyone.within(ONLY_ALPHA)
    try:
        for name, everything, mine in [
            ("tenants", await everyone.tenants(), await ops.tenants()),
            ("failures", await everyone.failures(), await ops.failures()),
            ("held", await everyone.held_plans(), await ops.held_plans()),
            ("search", await everyone.search("berg"), await ops.search("berg")),
            ("elevations", await everyone.elevations(), await ops.elevations()),
            ("audit", await everyone.audit(), await ops.audit()),
            ("approvers", await everyone.approvers(), await ops.approvers()),
        ]:
            tenant_of = (lambda r: r.id) if name == "tenants" else (lambda r: r.tenant)
            assert {tenant_of(r) for r in everything} >= {SERVED, OTHER}, name
            assert {tenant_of(r) for r in mine} == {SERVED}, name
            assert len(mine) == sum(1 for r in everything if tenant_of(r) == SERVED), name
        assert await ops.count_failures() == await everyone.count_failures(SERVED)
        assert await everyone.count_failures() > await ops.count_failures() > 0
        assert [r.id for r in await ops.failures(limit=1, offset=1)] == [
            r.id for r in await everyone.failures(SERVED, limit=1, offset=1)
        ]
    finally:
        await everyone.close()


async def test_findings_of_another_tenants_run_are_not_shown_under_ones_own(
    config: Path,
) -> None:
    ids = await _filled(config)
    async with await opened(config, None) as ops:  # even for an engineer of every tenant
        with pytest.raises(NotFound):
            await ops.findings(SERVED, run_id=ids.run)
        with pytest.raises(NotFound):
            await ops.count_findings(SERVED, run_id=ids.run)


async def test_whole_installation_tasks_stay_with_unlimited_actors(config: Path) -> None:
    await _filled(config)
    async with await opened(config, ONLY_ALPHA) as ops:
        with pytest.raises(PolicyRefused, match="serves some tenants only"):
            await ops.deliver_notices()
    async with await opened(config, None) as ops:
        await ops.deliver_notices()  # an unlimited actor may


async def test_a_token_scope_narrows_the_process_scope_never_widens_it(config: Path) -> None:
    async with await opened(config, TenantScope(frozenset())) as nobody:
        assert await nobody.tenants() == []
        assert (await nobody.within(TenantScope(None, "MCP token ci")).tenants()) == []
    async with await opened(config, None) as everyone:
        view = everyone.within(ONLY_ALPHA, actor="mcp:anna")
        assert [t.id for t in await view.tenants()] == [SERVED]
        assert view.actor == "mcp:anna" and everyone.actor == "test:eva"


def test_a_list_naming_an_unknown_tenant_is_a_configuration_error(workdir: Workdir) -> None:
    for table, key in [
        ('[operators.eva]\ntenants = ["alpha", "gamma"]\n', "operators.eva.tenants"),
        ('[mcp.tokens.anna]\ntoken = "env:X"\ntenants = ["gamma"]\n', "mcp.tokens.anna.tenants"),
    ]:
        workdir.config.write_text(config_text(table), encoding="utf-8")
        with pytest.raises(ConfigError) as bad:
            load(workdir.config)
        assert key in str(bad.value) and "'gamma'" in str(bad.value)
        assert bad.value.problems[0].key == key and bad.value.problems[0].line is not None
        assert "alpha, beta" in str(bad.value)


def test_an_os_account_without_a_table_serves_every_tenant(workdir: Workdir) -> None:
    workdir.config.write_text(
        config_text('[operators.someone-else]\ntenants = ["beta"]\n'), encoding="utf-8"
    )
    config = load(workdir.config).config
    assert not operator_scope(config, ME).limited
    assert operator_scope(config, "someone-else").pick(["alpha", "beta"]) == ["beta"]


async def test_metrics_of_a_limited_process_name_its_tenants_only(config: Path) -> None:
    await _filled(config)
    traffic = TrafficLedger()  # this test's own, not the process's
    traffic.add(OTHER, "mem", {"requests": 3})
    traffic.add(SERVED, "mem", {"requests": 2})
    async with await opened(config, None) as ops:
        for tenants, shown in ((EVERY_TENANT, {SERVED, OTHER}), (ONLY_ALPHA, {SERVED})):
            monitor = Monitor(
                ops.journal,
                config.parent / "ess.db",
                process="t",
                missed_run_margin_s=60,
                tenants=tenants,
                traffic=traffic,
            )
            monitor.scheduled({SERVED: datetime.now(UTC), OTHER: datetime.now(UTC)})
            await monitor.refresh()
            text = monitor.metrics_text().decode()
            named = set(re.findall(r'tenant="([a-z]+)"', text))
            assert named == shown, tenants
            assert 'ess_target_http_requests_total{target="mem",tenant="alpha"}' in text


def test_a_refusal_names_the_identity_whose_list_refused() -> None:
    account = TenantScope(frozenset({SERVED}), "operator ess")
    assert "operator ess may serve" in account.within(TenantScope(None, "MCP token boss")).refusal(
        OTHER
    )
    token = TenantScope(frozenset({SERVED}), "MCP token anna")
    assert "MCP token anna may serve" in TenantScope(None, "operator ess").within(token).refusal(
        OTHER
    )
    both = TenantScope(frozenset({SERVED, OTHER}), "operator ess").within(token)
    assert both.tenants == {SERVED}
