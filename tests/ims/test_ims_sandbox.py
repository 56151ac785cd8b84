"""``ess sandbox ims`` and the IMS source's HTTPS form against it, over real mutual TLS on
loopback: the municipality read whole, the certificate and the key checked, injected faults
failing the read (never a smaller snapshot), a term later, and the guard holding a run whose
source shrank."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import ssl
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from ims_helpers import NoCache

from adapters.ims.cache import ENTITY, kept
from adapters.ims.sandbox import ImsSandbox, SandboxInfo
from adapters.ims.sandbox.command import SANDBOX
from adapters.ims.source import ImsConfigError, ImsSource
from adapters.ims.writer import write_complete
from adapters.kit.retry import Backoff
from adapters.kit.sandbox.tls import make_tls
from engine.ops import Ops
from engine.plugins import SandboxCommand, SandboxOptions
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceError
from engine.testing.conformance.sources import snapshot_differences

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ss12000"))

from ss12000_helpers import MemoryCache

AS_OF = date(2025, 9, 1)
KEY_ENV = "ESS_TEST_IMS_SANDBOX_KEY"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ImsSandbox]:
    made = ImsSandbox(size="120", seed=7, as_of=AS_OF)
    made.start()
    yield made
    made.stop()


@pytest.fixture(autouse=True)
def wrong_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_IMS_WRONG", "not-the-key")


def source_for(info: SandboxInfo, monkeypatch: pytest.MonkeyPatch, **more: Any) -> ImsSource:
    monkeypatch.setenv(KEY_ENV, info.api_key)
    settings: dict[str, Any] = {
        "type": "ims",
        "urls": list(info.urls),
        "api_key": f"env:{KEY_ENV}",
        "api_key_header": info.api_key_header,
        "client_cert": info.client_cert,
        "verify": info.ca_cert,
        "timeout_s": 10,
        **more,
    }
    source = ImsSource.from_config(settings, SecretResolver())
    source.backoff = Backoff(attempts=2, base_s=0.01, cap_s=0.02)
    return source


def ctx() -> SourceContext:
    return SourceContext("t", NoCache(), AS_OF)


async def test_the_complete_export_reads_as_the_municipality(
    sandbox: ImsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = await source_for(sandbox.info, monkeypatch).read(ctx())
    assert read.mode == "full" and not read.findings, read.findings[:3]
    assert not snapshot_differences(read.snapshot, sandbox.snapshot)
    assert len(read.snapshot.persons) > 100


async def test_no_certificate_or_a_wrong_key_gets_nothing(
    sandbox: ImsSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stranger = str(make_tls(tmp_path / "other").issue_client_cert("stranger"))
    without = source_for(sandbox.info, monkeypatch)
    without._tls = ssl.create_default_context(cafile=sandbox.info.ca_cert)  # no certificate
    for src in (without, source_for(sandbox.info, monkeypatch, client_cert=stranger)):
        src.backoff = Backoff(attempts=1, base_s=0.01, cap_s=0.02)
        with pytest.raises(SourceError, match=r"IMS API https://127\.0\.0\.1"):
            await src.read(ctx())
    refused_before = sandbox.service.stats()["refused_keys"]
    wrong = source_for(sandbox.info, monkeypatch, api_key="env:ESS_TEST_IMS_WRONG")
    with pytest.raises(SourceError, match=r"refused the request \(401\)") as err:
        await wrong.read(ctx())
    assert "not-the-key" not in str(err.value)
    assert sandbox.service.stats()["refused_keys"] == refused_before + 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [("html", "not an XML document"), ("truncated", "line"), ("5xx", "answered 50")],
)
async def test_an_injected_fault_fails_the_read_whole(
    kind: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ImsSandbox(size="40", seed=3, as_of=AS_OF) as sandbox:
        sandbox.settings.fault_rate = 1.0
        sandbox.settings.fault_kinds = (kind,)
        with pytest.raises(SourceError, match=message):
            await source_for(sandbox.info, monkeypatch).read(ctx())
        assert sandbox.service.stats()["faults"] >= 1


async def test_with_delta_url_a_term_later_is_read_as_a_delta_export(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with ImsSandbox(size="120", seed=7, as_of=AS_OF) as sandbox:
        cache = MemoryCache()
        src = source_for(sandbox.info, monkeypatch, delta_url=sandbox.info.delta_url)
        first = await src.read(SourceContext("t", cache, AS_OF))
        assert first.mode == "full" and sorted(cache.records[ENTITY]) == ["c00000"]
        await asyncio.sleep(1.1)  # the mark has a second's resolution: the term comes after
        await asyncio.to_thread(sandbox.advance, "term")
        day = sandbox.snapshot.as_of
        later = await src.read(SourceContext("t", cache, day))
        assert later.mode == "incremental" and not later.findings, later.findings[:3]
        assert sorted(cache.records[ENTITY]) == ["c00000", "d00001"]
        assert sandbox.service.stats()["deltas"] == 1
        fresh = await src.read(SourceContext("t", MemoryCache(), day))
        assert not snapshot_differences(later.snapshot, fresh.snapshot)
        assert not snapshot_differences(later.snapshot, sandbox.snapshot)
        assert snapshot_differences(later.snapshot, first.snapshot)
        trust = ssl.create_default_context(cafile=sandbox.info.ca_cert)
        trust.load_cert_chain(sandbox.info.client_cert)
        async with httpx.AsyncClient(verify=trust) as client:
            key = {sandbox.info.api_key_header: sandbox.info.api_key}
            no_time = await client.get(sandbox.info.delta_url, params={"from": "x"}, headers=key)
        assert no_time.status_code == 400
        # a broken delta fails the read and leaves the cache as it was
        kept_before = dict(cache.records[ENTITY])
        sandbox.settings.fault_rate, sandbox.settings.fault_kinds = 1.0, ("truncated",)
        with pytest.raises(SourceError):
            await src.read(SourceContext("t", cache, day))
        assert cache.records[ENTITY] == kept_before


async def test_a_delta_deleting_what_no_kept_document_holds_is_a_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with ImsSandbox(size="40", seed=3, as_of=AS_OF) as sandbox:
        cache = MemoryCache()
        src = source_for(sandbox.info, monkeypatch, delta_url=sandbox.info.delta_url)
        first = await src.read(SourceContext("t", cache, AS_OF))
        gone = sorted(first.snapshot.persons)[0]
        # the kept complete export never held this person
        write_complete(first.snapshot.without(persons=[gone]), tmp_path / "without.xml")
        cache.records[ENTITY] = {"c00000": (tmp_path / "without.xml").read_bytes()}
        await asyncio.sleep(1.1)
        sandbox.remove_persons([gone])
        later = await src.read(SourceContext("t", cache, AS_OF))
        unknown = [f for f in later.findings if f.code == "ims.delete_unknown"]
        assert [f.record_id for f in unknown if f.record_type == "person"] == [gone]
        assert set(later.snapshot.persons) == set(first.snapshot.persons) - {gone}


def test_the_kept_documents_hold_a_personnummer_only_as_its_hash() -> None:
    doc = (
        b'<?xml version="1.0" encoding="utf-8"?><enterprise><person><sourcedid><source>S'
        b'</source><id>P1</id></sourcedid><userid useridtype="PID">201001012386</userid>'
        b'<userid useridtype="EPPN">p1@example.se</userid></person></enterprise>'
    )
    hashed = kept(doc, lambda civic: "hmac-sha256:abc")
    assert b"201001012386" not in hashed and b"hmac-sha256:abc" in hashed
    assert b"p1@example.se" in hashed
    dropped = kept(doc, lambda civic: None)
    assert b"201001012386" not in dropped and b'useridtype="PID"' not in dropped


def test_delta_url_is_checked_when_the_source_is_built() -> None:
    def build(**settings: Any) -> None:
        ImsSource.from_config({"type": "ims", **settings}, SecretResolver())

    with pytest.raises(ImsConfigError, match="delta_url needs urls"):
        build(delta_url="https://ims.example/delta", api_key="env:HOME")
    with pytest.raises(ImsConfigError, match="not an https:// address"):
        build(urls=["https://ims.example/org"], api_key="env:HOME", delta_url="http://x/d")
    with pytest.raises(ImsConfigError, match="cannot be combined with delta_url"):
        build(path="export.xml", delta_url="https://ims.example/delta")


async def test_a_term_later_the_read_gives_the_new_term(monkeypatch: pytest.MonkeyPatch) -> None:
    async with ImsSandbox(size="120", seed=7, as_of=AS_OF) as sandbox:
        first = await source_for(sandbox.info, monkeypatch).read(ctx())
        trust = ssl.create_default_context(cafile=sandbox.info.ca_cert)
        trust.load_cert_chain(sandbox.info.client_cert)
        async with httpx.AsyncClient(verify=trust) as client:
            url = f"{sandbox.info.inspect_url}/advance"
            assert (await client.post(url, json={"kind": "week"})).status_code == 400
            answer = await client.post(url, json={"kind": "term"}, timeout=120)
        assert answer.status_code == 200 and answer.json()["as_of"] > AS_OF.isoformat()
        later = await source_for(sandbox.info, monkeypatch).read(
            SourceContext("t", NoCache(), sandbox.snapshot.as_of)
        )
        assert not snapshot_differences(later.snapshot, sandbox.snapshot)
        assert snapshot_differences(later.snapshot, first.snapshot)


CONFIG = """\
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"

[tenants.alpha.source]
type = "ims"
urls = ["{url}"]
delta_url = "{delta_url}"
api_key = "env:{key_env}"
client_cert = "{cert}"
verify = "{ca}"

[tenants.alpha.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
"""


async def test_a_run_whose_served_export_shrank_is_held_by_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ImsSandbox(size="120", seed=7) as sandbox:  # as of today, as runs are
        info = sandbox.info
        monkeypatch.setenv(KEY_ENV, info.api_key)
        config = tmp_path / "ess.toml"
        config.write_text(
            CONFIG.format(
                url=info.urls[0],
                delta_url=info.delta_url,
                key_env=KEY_ENV,
                cert=info.client_cert,
                ca=info.ca_cert,
            ),
            encoding="utf-8",
        )
        async with await Ops.open(config, actor="test:ims") as ops:
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
        assert modes == ["full", "incremental"]  # the removals came as a delta export


async def test_the_command_prints_one_json_line_and_stops_on_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(SANDBOX, SandboxCommand) and SANDBOX.name == "ims"
    lines: list[str] = []
    announced = asyncio.Event()

    def emit(text: str) -> None:
        lines.append(text)
        announced.set()

    options = SandboxOptions(json_output=True, size="40", extra={"api_key_header": "Api-Key"})
    task = asyncio.create_task(SANDBOX.serve(options, emit))
    await asyncio.wait_for(announced.wait(), timeout=60)
    fields = json.loads(lines[0])
    info = SandboxInfo(**{**fields, "urls": tuple(fields["urls"])})
    assert info.api_key_header == "Api-Key"
    read = await source_for(info, monkeypatch).read(ctx())
    assert read.snapshot.persons
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert not Path(info.ca_cert).exists()  # the sandbox's folder went with it
