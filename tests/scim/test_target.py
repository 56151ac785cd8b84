"""The SCIM target through the engine's real paths (ess.toml, a SQLite journal, runs) into
scim2-server over HTTPS on loopback: adoption by userName, Bulk only where offered, zero
writes on a second run, exactly the differences a term later, the EGIL leaver's order,
OAuth2 client credentials, and clear configuration errors."""

from __future__ import annotations

import dataclasses
import math
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from adapters.scim.config import ScimConfig
from adapters.scim.mapping import as_uuid
from adapters.scim.sandbox import SandboxSettings, ScimSandbox
from adapters.scim.target import ScimTarget
from engine.config import TenantPolicy
from engine.plan import Operation
from engine.planner import PlanInput, plan
from engine.secrets import SecretResolver
from engine.target import ObservedState
from engine.testing.builder import tiny_snapshot
from engine.testing.conformance import Bench
from engine.testing.conformance.cases import a_term_later, municipality, one_leaver
from tests.conformance import scim_harness
from tests.conformance.scim_harness import ScimHarness


@pytest.fixture(autouse=True, scope="module")
def _stop() -> Iterator[None]:
    yield
    scim_harness.stop_shared()


def _bench(tmp_path: Path, profile: str = "core") -> Bench:
    return Bench(tmp_path, ScimHarness(profile, tmp_path))


async def test_second_run_writes_nothing_and_a_term_later_writes_the_differences(
    tmp_path: Path,
) -> None:
    bench = _bench(tmp_path)
    sb = bench.harness.sb  # type: ignore[attr-defined]
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    held = str(sb.state())
    assert not any(p.civic_no and p.civic_no in held for p in snap.persons.values())
    sb.reset_stats()
    second = await bench.sync()
    assert second.counts.get("planned", 0) == 0
    assert sb.stats().writes == 0
    bench.source(a_term_later(snap))
    third = await bench.sync()
    assert third.status == "succeeded"
    # a renamed pupil, a renamed group (one PATCH each), a pupil moved (one PATCH per group)
    assert third.counts["planned"] == 4
    assert sb.stats().writes == 4


async def test_a_user_made_by_hand_is_adopted_by_username(tmp_path: Path) -> None:
    bench = _bench(tmp_path)
    harness: ScimHarness = bench.harness  # type: ignore[assignment]
    snap = bench.source(municipality())
    wanted = harness._desired(snap).objects["user"]
    key, obj = sorted(wanted.items())[0]
    login = dict(obj.attrs)["user_name"]
    with harness._client() as client:
        made = client.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": login,
                "displayName": "Made by hand",
            },
        )
        assert made.status_code == 201
    assert (await bench.sync()).status == "succeeded"
    same = [u for u in harness.sb.resources("User") if u["userName"] == login]
    assert len(same) == 1
    assert same[0]["id"] == made.json()["id"]
    assert same[0]["externalId"] == key
    assert same[0]["displayName"] == dict(obj.attrs)["display_name"]


@pytest.mark.parametrize("bulk", [True, False])
async def test_bulk_is_used_only_when_the_service_offers_it(tmp_path: Path, bulk: bool) -> None:
    with ScimSandbox(settings=SandboxSettings(bulk=bulk)) as sb:
        sb.start()
        bench = _bench(tmp_path)
        harness: ScimHarness = bench.harness  # type: ignore[assignment]
        harness.sb = sb
        snap = bench.source(municipality())
        assert (await bench.sync()).status == "succeeded"
        assert (sb.stats().bulk_requests > 0) is bulk
        users = sb.resources("User")
        assert len(users) == len(harness._desired(snap).objects["user"])


async def test_egil_puts_the_groups_before_it_deletes_a_leaver(tmp_path: Path) -> None:
    # without Bulk, so that every request shows on its own in the service's log
    with ScimSandbox(settings=SandboxSettings(profile="egil", bulk=False)) as sb:
        sb.start()
        bench = _bench(tmp_path, "egil")
        bench.harness.sb = sb  # type: ignore[attr-defined]
        await _leaver(bench, sb)


async def _leaver(bench: Bench, sb: ScimSandbox) -> None:
    first = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    left, leaver = one_leaver(first)
    bench.source(left)
    sb.peer.counted.log.clear()
    assert (await bench.sync()).status == "succeeded"
    log = [(m, p) for m, p, _ in sb.peer.counted.log if m != "GET"]
    gone = as_uuid(leaver)
    delete_at = log.index(("DELETE", f"/Users/{gone}"))
    puts = [i for i, (m, p) in enumerate(log) if m == "PUT" and p.startswith("/StudentGroups/")]
    assert puts and max(puts) < delete_at
    assert not any(u["id"] == gone for u in sb.resources("User"))
    for g in sb.resources("StudentGroup"):
        assert gone not in {m["value"] for m in g.get("studentMemberships") or ()}


class _OAuthHarness(ScimHarness):
    def table(self) -> dict[str, Any]:
        table = super().table()
        del table["token"]
        info = self.sb.info
        return {
            **table,
            "token_url": info.token_url,
            "client_id": info.client_id,
            "client_secret": "env:ESS_SCIM_SECRET",
        }

    def env(self) -> dict[str, str]:
        return {"ESS_SCIM_SECRET": self.sb.info.client_secret}


async def test_oauth2_client_credentials(tmp_path: Path) -> None:
    bench = Bench(tmp_path, _OAuthHarness("core", tmp_path))
    bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    assert bench.harness.sb.tokens.issued >= 1  # type: ignore[attr-defined]


def test_configuration_errors_name_the_problem() -> None:
    base = {"type": "scim", "base_url": "https://scim.example/v2"}
    with pytest.raises(ValidationError, match="auth is missing"):
        ScimConfig.model_validate(base)
    with pytest.raises(ValidationError, match="either 'token'"):
        ScimConfig.model_validate(
            {**base, "token": "env:T", "token_url": "https://x/token", "client_id": "c"}
        )
    with pytest.raises(ValidationError, match="token"):
        ScimConfig.model_validate({**base, "token": "plain-secret-in-the-file"})
    with pytest.raises(ValidationError, match="profile"):
        ScimConfig.model_validate({**base, "token": "env:T", "profile": "sis"})
    with pytest.raises(ValidationError, match="not an http"):
        ScimConfig.model_validate({**base, "base_url": "ftp://scim.example", "token": "env:T"})


def test_a_revoked_token_stops_the_run_with_one_message(tmp_path: Path) -> None:
    # covered through the engine by the conformance case tenant_error_stops; here the
    # client's own answer: a 401 after a fresh token is a tenant-level error
    with ScimSandbox(settings=SandboxSettings(revoked=True)) as sb:
        info = sb.start()
        with httpx.Client(verify=ssl.create_default_context(cafile=info.ca_path)) as c:
            refused = c.get(f"{info.base_url}/Users", headers={"Authorization": "Bearer x"})
        assert refused.status_code == 401
        assert refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@pytest.mark.parametrize("profile", ["core", "egil"])
async def test_faults_without_bulk_or_filters_converge_with_no_duplicate(
    tmp_path: Path, profile: str
) -> None:
    """Every write alone (no Bulk) and look-ups by listing (no filters): 5xx before and after
    the write and timeouts make no duplicate, and the service converges once they stop."""
    from engine.testing.conformance import Fault
    from engine.testing.conformance.cases import converged, no_duplicates, settle

    settings = SandboxSettings(profile=profile, bulk=False, filter=False)
    with ScimSandbox(settings=settings) as sb:
        sb.start()
        bench = _bench(tmp_path, profile)
        bench.harness.sb = sb  # type: ignore[attr-defined]
        snap = bench.source(municipality())
        mix = {Fault.SERVER_ERROR: 0.1, Fault.SERVER_ERROR_APPLIED: 0.15, Fault.TIMEOUT: 0.05}
        bench.harness.faults(mix, seed=5)
        await bench.sync()
        assert sb.stats().faults_injected > 0
        no_duplicates(bench.harness.truth())
        await settle(bench, snap)
        await converged(bench, snap)
        assert sb.stats().by_status.get(501, 0) == 0  # no filter was sent to it


class _PacedHarness(ScimHarness):
    def table(self) -> dict[str, Any]:
        return {**super().table(), "requests_per_second": 8.0}


async def test_a_paced_client_stays_under_the_service_limit(tmp_path: Path) -> None:
    """ESS paces itself at ``requests_per_second``: a service throttling above 10 a second
    sends it no 429 (without the pace, the same run is throttled: see the conformance case)."""
    harness = _PacedHarness("core", tmp_path)
    bench = Bench(tmp_path, harness)
    bench.source(municipality())
    harness.sb.update_settings(requests_per_second=10.0)
    try:
        assert (await bench.sync()).status == "succeeded"
        assert harness.sb.stats().requests > 10
        assert harness.sb.stats().throttled == 0
    finally:
        harness.sb.update_settings(requests_per_second=0.0)


async def test_a_value_the_source_clears_is_removed_from_the_service(tmp_path: Path) -> None:
    """A pupil whose e-mail the source no longer lists keeps none in the service: the PATCH
    removes it (a replace of what is left would leave the old address there)."""
    bench = _bench(tmp_path)
    sb = bench.harness.sb  # type: ignore[attr-defined]
    snap = bench.source(municipality())
    assert (await bench.sync()).status == "succeeded"
    pid, person = next((k, p) for k, p in sorted(snap.persons.items()) if p.emails)
    persons = dict(snap.persons)
    persons[pid] = dataclasses.replace(person, emails=())
    bench.source(dataclasses.replace(snap, persons=persons))
    assert (await bench.sync()).status == "succeeded"
    (user,) = [u for u in sb.resources("User") if u.get("externalId") == pid]
    assert not user.get("emails"), user
    assert (await bench.sync()).counts.get("planned", 0) == 0


class _BulkHarness(ScimHarness):
    """Bulk requests of 500 at most (the service's ``maxOperations``; ESS's ``bulk_size`` is
    larger), one in flight."""

    def table(self) -> dict[str, Any]:
        return {**super().table(), "bulk_size": 800, "max_concurrency": 1}


async def test_only_the_last_bulk_request_of_each_kind_is_part_full(tmp_path: Path) -> None:
    """1,440 EGIL users span several of the executor's windows of ready work (one batch in
    flight: windows of 500, where they were of 400 and each a part-full Bulk request): they go
    in Bulk requests of the service's 500 (not ESS's 800), each full but the last, as does
    every other kind: the fewest requests Bulk allows."""
    settings = SandboxSettings(profile="egil", bulk=True, bulk_max_operations=500)
    with ScimSandbox(settings=settings) as sb:
        sb.start()
        harness = _BulkHarness("egil", tmp_path)
        harness.sb = sb
        bench = Bench(tmp_path, harness)
        snap = bench.source(
            tiny_snapshot(pupils=1_400, teachers=40, as_of=date.today(), protected_share=0.0)
        )
        wanted = harness._desired(snap).count()
        assert wanted["user"] > 1_000
        sb.reset_stats()
        assert (await bench.sync()).status == "succeeded"
        writes = [(m, p) for m, p, _ in sb.peer.counted.log if m != "GET"]
        # a kind of one resource is one plain POST; every other kind goes in Bulk requests
        assert len(writes) == sum(math.ceil(n / 500) for n in wanted.values())
        assert sb.stats().bulk_requests == sum(math.ceil(n / 500) for n in wanted.values() if n > 1)
        assert len(sb.resources("User")) == wanted["user"]


class _PayloadHarness(ScimHarness):
    """Bulk requests bound by bytes: the service takes 60,000 at most (about a hundred EGIL
    users), and 1,000 operations."""

    def table(self) -> dict[str, Any]:
        return {**super().table(), "bulk_size": 1000, "max_concurrency": 2}


async def test_bulk_requests_fill_the_service_payload_and_are_never_refused(
    tmp_path: Path,
) -> None:
    """ESS reckons a Bulk request's bytes as the client writes them: the peer (which answers
    a larger one 413) refuses none, and windows of ready work add no request to what packing
    each kind whole would send."""
    settings = SandboxSettings(profile="egil", bulk=True, bulk_max_payload=60_000)
    with ScimSandbox(settings=settings) as sb:
        sb.start()
        harness = _PayloadHarness("egil", tmp_path)
        harness.sb = sb
        bench = Bench(tmp_path, harness)
        snap = bench.source(
            tiny_snapshot(pupils=900, teachers=40, as_of=date.today(), protected_share=0.0)
        )
        sb.reset_stats()
        assert (await bench.sync()).status == "succeeded"
        assert 413 not in sb.stats().by_status
        # what the target's own packing gives each kind in one go, read with the service's
        # discovery: the fewest Bulk requests it could send
        target = ScimTarget.from_config(
            "scim", harness.table(), TenantPolicy(), SecretResolver(environ=harness.env())
        )
        try:
            await target.client.capabilities()
            desired = target.desired(snap)
            now = datetime.now(UTC)
            planned = plan(PlanInput("scim", target.kinds, (), desired, ObservedState({}, {}), now))
            by_kind: dict[str, list[Operation]] = {}
            for op in planned.operations:
                by_kind.setdefault(op.kind, []).append(op)
            whole = sum(len(target._in_bulk_requests(ops, 1000)) for ops in by_kind.values())
        finally:
            await target.aclose()
        assert len(by_kind["user"]) > 600  # several Bulk requests of users
        writes = [(m, p) for m, p, _ in sb.peer.counted.log if m != "GET"]
        assert len(writes) == whole
        assert sb.stats().bulk_requests >= len(by_kind["user"]) * 500 // 60_000
