"""``ess sandbox oneroster`` and the REST source's incremental reads against it, over real
HTTPS on loopback: the binding's paging headers and errors, deltas through
``dateLastModified`` with ``tobedeleted`` for removals, and the guard holding a run whose
source shrank."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import ssl
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from adapters.kit.retry import Backoff
from adapters.kit.tls import tls_context
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.rest_delta import changed, format_mark
from adapters.oneroster.sandbox import OneRosterSandbox, SandboxInfo
from adapters.oneroster.sandbox.command import SANDBOX
from adapters.oneroster.source import OneRosterSource
from engine.ops import Ops
from engine.plugins import SandboxCommand, SandboxOptions
from engine.secrets import Secret
from engine.source import CachedSource, SourceContext, SourceError
from engine.testing.conformance.sources import snapshot_differences

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ss12000"))

from ss12000_helpers import MemoryCache

AS_OF = date(2025, 9, 1)
ROOT = "/ims/oneroster/rostering/v1p2"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OneRosterSandbox]:
    made = OneRosterSandbox(size="120", seed=7, as_of=AS_OF)
    made.start()
    yield made
    made.stop()


def source_for(info: SandboxInfo, **more: Any) -> OneRosterSource:
    settings = {
        "type": "oneroster",
        "base_url": info.base_url,
        "token_url": info.token_url,
        "client_id": info.client_id,
        "client_secret": "env:ESS_TEST_OR_SANDBOX",
        "verify": info.ca_cert,
        "page_size": 50,
        **more,
    }
    source = OneRosterSource(
        OneRosterConfig.model_validate(settings),
        secret=Secret("env:ESS_TEST_OR_SANDBOX", info.client_secret),
        tls=tls_context(info.ca_cert),
    )
    source.backoff = Backoff(attempts=3, base_s=0.01, cap_s=0.02)
    return source


def ctx(cache: MemoryCache) -> SourceContext:
    return SourceContext("t", cache, AS_OF)


def _trust(info: SandboxInfo) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=info.ca_cert)


async def _get(
    info: SandboxInfo, path: str, trust: ssl.SSLContext | None = None, **params: str
) -> httpx.Response:
    async with httpx.AsyncClient(verify=trust or _trust(info)) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": info.client_id,
            "client_secret": info.client_secret,
        }
        token = (await client.post(info.token_url, data=form)).json()["access_token"]
        return await client.get(
            info.base_url + path, params=params, headers={"Authorization": f"Bearer {token}"}
        )


async def test_pages_carry_the_total_and_the_links_of_the_binding(
    sandbox: OneRosterSandbox,
) -> None:
    info = sandbox.info
    first = await _get(info, f"{ROOT}/users", limit="10")
    total = int(first.headers["X-Total-Count"])
    assert total == len(sandbox.snapshot.persons) and len(first.json()["users"]) == 10
    links = first.headers["Link"]
    assert 'offset=10>; rel="next"' in links and 'rel="first"' in links
    assert f'offset={(total - 1) // 10 * 10}>; rel="last"' in links and 'rel="prev"' not in links
    second = await _get(info, f"{ROOT}/users", limit="10", offset="10")
    assert {u["sourcedId"] for u in first.json()["users"]}.isdisjoint(
        u["sourcedId"] for u in second.json()["users"]
    )
    assert 'rel="prev"' in second.headers["Link"]


async def test_errors_are_the_bindings_status_info(sandbox: OneRosterSandbox) -> None:
    info = sandbox.info
    async with httpx.AsyncClient(verify=_trust(info)) as client:
        no_token = await client.get(f"{info.base_url}{ROOT}/users")
    assert no_token.status_code == 401
    minor = no_token.json()["imsx_CodeMinor"]["imsx_codeMinorField"][0]
    assert minor["imsx_codeMinorFieldValue"] == "unauthorisedrequest"
    bad = await _get(info, f"{ROOT}/users", filter="givenName='Anna'")
    assert bad.status_code == 400
    assert "invalid_filter_field" in bad.text and bad.json()["imsx_codeMajor"] == "failure"
    not_a_date = await _get(info, f"{ROOT}/users", filter="dateLastModified>'yesterday'")
    assert not_a_date.status_code == 400 and "invalid_filter_field" in not_a_date.text
    no_page = await _get(info, f"{ROOT}/users", limit="0")
    assert no_page.status_code == 400 and "invaliddata" in no_page.text
    missing = await _get(info, f"{ROOT}/users/no-such-user")
    assert missing.status_code == 404 and "unknownobject" in missing.text
    someone = sorted(sandbox.snapshot.persons)[0]
    one = await _get(info, f"{ROOT}/users/{someone}")
    assert one.json()["user"]["sourcedId"] == someone


async def test_the_filter_keeps_what_changed_since(sandbox: OneRosterSandbox) -> None:
    later = format_mark(datetime.now(UTC) + timedelta(minutes=1))
    none = await _get(sandbox.info, f"{ROOT}/users", filter=f"dateLastModified>'{later}'")
    assert none.json()["users"] == [] and none.headers["X-Total-Count"] == "0"
    earlier = format_mark(datetime.now(UTC) - timedelta(days=1))
    every = await _get(
        sandbox.info, f"{ROOT}/users", filter=f"dateLastModified>'{earlier}' AND status='active'"
    )
    assert int(every.headers["X-Total-Count"]) == len(sandbox.snapshot.persons)


async def test_a_term_later_the_incremental_read_gives_what_a_full_read_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with OneRosterSandbox(size="120", seed=7, as_of=AS_OF) as sandbox:
        cache = MemoryCache()
        first = await source_for(sandbox.info).read(ctx(cache))
        assert first.mode == "full"
        assert not snapshot_differences(first.snapshot, sandbox.snapshot)
        pages_before = sandbox.service.stats()["pages"]
        async with httpx.AsyncClient(verify=_trust(sandbox.info)) as client:
            url = f"{sandbox.info.inspect_url}/advance"
            assert (await client.post(url, json={"kind": "week"})).status_code == 400
            answer = await client.post(url, json={"kind": "term"}, timeout=120)
        changes = answer.json()
        assert answer.status_code == 200 and changes["removed"] > 0
        later = await source_for(sandbox.info).read(ctx(cache))
        assert later.mode == "incremental"
        assert later.stats["deletes"] > 0 and later.stats["upserts"] > 0
        assert not later.findings, later.findings[:3]
        fresh = await source_for(sandbox.info).read(ctx(MemoryCache()))
        assert not snapshot_differences(later.snapshot, fresh.snapshot)
        assert not snapshot_differences(later.snapshot, sandbox.snapshot)
        assert snapshot_differences(later.snapshot, first.snapshot)
        # the incremental read asked for less than the whole API
        assert sandbox.service.stats()["pages"] - pages_before < 2 * fresh.stats.get("pages", 99)


async def test_removed_users_come_as_tobedeleted_and_leave_the_snapshot() -> None:
    async with OneRosterSandbox(size="120", seed=7, as_of=AS_OF) as sandbox:
        cache = MemoryCache()
        await source_for(sandbox.info).read(ctx(cache))
        gone = sorted(sandbox.snapshot.persons)[:5]
        sandbox.remove_persons(gone)
        listed = await _get(sandbox.info, f"{ROOT}/users", filter="status='tobedeleted'")
        assert sorted(u["sourcedId"] for u in listed.json()["users"]) == gone
        later = await source_for(sandbox.info).read(ctx(cache))
        assert later.mode == "incremental"
        assert not set(gone) & set(later.snapshot.persons)
        assert not set(gone) & set(cache.records["users"])
        assert set(later.snapshot.persons) == set(sandbox.snapshot.persons)


async def test_a_cache_another_source_left_makes_the_read_full(sandbox: OneRosterSandbox) -> None:
    soon = format_mark(datetime.now(UTC) + timedelta(minutes=1))  # nothing changed since
    cache = MemoryCache(records={"persons": {"P1": b"{}"}}, checkpoint=soon, full_read_at=soon)
    read = await source_for(sandbox.info).read(ctx(cache))
    assert read.mode == "full"
    assert len(read.snapshot.persons) == len(sandbox.snapshot.persons)


def test_a_delete_of_what_no_read_held_is_a_finding_and_removes_nothing() -> None:
    last_start = datetime(2025, 9, 1, 12, tzinfo=UTC)
    cached = CachedSource(
        {"users": {"U1": orjson.dumps({"sourcedId": "U1", "status": "active"})}},
        format_mark(last_start),
        None,
    )
    gone = {"status": "tobedeleted"}
    news = {
        "users": [
            gone | {"sourcedId": "U9", "dateLastModified": "2025-09-01T13:00:00Z"},
            # in the overlap before the last read began: that read saw it, no finding
            gone | {"sourcedId": "U8", "dateLastModified": "2025-09-01T11:59:58Z"},
        ]
    }
    applied = changed(news, cached, lambda civic: None, last_start)
    assert [f.record_id for f in applied.findings] == ["U9"]
    assert applied.findings[0].code == "oneroster.delete_unknown"
    assert applied.deletes == {"users": []}
    assert [o["sourcedId"] for o in applied.objects["users"]] == ["U1"]


def test_the_cache_holds_a_personnummer_only_as_its_hash() -> None:
    user = {"sourcedId": "U1", "status": "active", "metadata": {"se.civicNo": "201001012386"}}
    cached = CachedSource({}, format_mark(datetime(2025, 9, 1, tzinfo=UTC)), None)
    applied = changed({"users": [user]}, cached, lambda civic: "hmac-sha256:abc", datetime.now(UTC))
    assert b"201001012386" not in applied.upserts["users"]["U1"]
    assert b"hmac-sha256:abc" in applied.upserts["users"]["U1"]
    dropped = changed({"users": [user]}, cached, lambda civic: None, datetime.now(UTC))
    assert b"civicNo" not in dropped.upserts["users"]["U1"]


async def test_an_injected_fault_fails_the_read_and_keeps_the_cache() -> None:
    async with OneRosterSandbox(size="120", seed=7, as_of=AS_OF) as sandbox:
        cache = MemoryCache()
        await source_for(sandbox.info).read(ctx(cache))
        kept = {k: dict(v) for k, v in cache.records.items()}
        sandbox.settings.fault_rate = 1.0
        sandbox.settings.fault_kinds = ("truncated",)
        with pytest.raises(SourceError, match=r"OneRoster API https://127\.0\.0\.1"):
            await source_for(sandbox.info).read(ctx(cache))
        assert cache.records == kept and cache.saves == 1


CONFIG = """\
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"

[tenants.alpha.source]
type = "oneroster"
base_url = "{base_url}"
token_url = "{token_url}"
client_id = "{client_id}"
client_secret = "env:ESS_TEST_OR_SANDBOX"
verify = "{ca}"

[tenants.alpha.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
"""


async def test_a_delta_that_removes_half_the_pupils_is_held_by_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with OneRosterSandbox(size="120", seed=7) as sandbox:  # as of today, as runs are
        info = sandbox.info
        monkeypatch.setenv("ESS_TEST_OR_SANDBOX", info.client_secret)
        config = tmp_path / "ess.toml"
        config.write_text(
            CONFIG.format(
                base_url=info.base_url,
                token_url=info.token_url,
                client_id=info.client_id,
                ca=info.ca_cert,
            ),
            encoding="utf-8",
        )
        async with await Ops.open(config, actor="test:oneroster") as ops:
            first = await ops.sync("alpha")
            assert first.status == "succeeded", first.error
            pupils = sorted(
                {r.person_id for r in sandbox.snapshot.school_roles if r.role.value == "student"}
            )
            sandbox.remove_persons(pupils[: len(pupils) // 2])
            before = (tmp_path / "target.json").read_bytes()
            held = await ops.sync("alpha")
            assert held.status == "held"
            assert (tmp_path / "target.json").read_bytes() == before
        with contextlib.closing(sqlite3.connect(tmp_path / "ess.db")) as db:
            modes = [m for (m,) in db.execute("SELECT source_mode FROM runs ORDER BY id")]
        assert modes == ["full", "incremental"]  # the removals came as a delta


async def test_the_command_prints_one_json_line_and_stops_on_cancel() -> None:
    assert isinstance(SANDBOX, SandboxCommand) and SANDBOX.name == "oneroster"
    lines: list[str] = []
    announced = asyncio.Event()

    def emit(text: str) -> None:
        lines.append(text)
        announced.set()

    options = SandboxOptions(json_output=True, size="40", extra={"max_limit": "7"})
    task = asyncio.create_task(SANDBOX.serve(options, emit))
    await asyncio.wait_for(announced.wait(), timeout=60)
    info = SandboxInfo(**json.loads(lines[0]))
    trust = _trust(info)  # the CA file goes with the sandbox
    page = await _get(info, f"{ROOT}/users", trust, limit="100")
    assert len(page.json()["users"]) == 7  # the setting given on the command line
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with pytest.raises(httpx.TransportError):
        await _get(info, f"{ROOT}/users", trust)
