"""The on-site agent uploads to the ingest over real HTTPS on loopback; the hosted tenant plans
and applies from the upload through its ``agent`` source against the memory target."""

from __future__ import annotations

import hashlib
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from engine import agent_auth
from engine.agent import Agent, AgentError
from engine.agent_wire import decode_snapshot, encode_snapshot
from engine.civic_hash import is_hashed
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from tests.hosted_agent.conftest import RESOLVER, Hosted

HOSTED_TOML = """\
[journal]
path = "ess.db"

[tenants.alpha]
name = "Alpha kommun"
source = {{ type = "agent", inbox = "{inbox}", max_age_hours = {max_age} }}

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
"""


def hosted_config(folder: Path, inbox: Path, max_age: float = 26) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "ess.toml"
    path.write_text(HOSTED_TOML.format(inbox=inbox, max_age=max_age), encoding="utf-8")
    return path


async def test_upload_then_a_run_plans_and_applies_from_it(hosted: Hosted) -> None:
    agent = Agent(hosted.agent_config(chunk_kb=4), RESOLVER)
    try:
        result = await agent.run_once()
    finally:
        await agent.aclose()
    local = tiny_snapshot()
    assert result.counts["persons"] == len(local.persons)
    assert result.size > 4 * 1024  # more than one chunk travelled
    latest = await hosted.ingest.inbox.latest("alpha")
    assert latest is not None
    meta, body = latest
    assert (meta.agent, meta.seq) == ("alpha-agent", result.seq)
    uploaded = decode_snapshot(body, max_size=10**8)
    civics = [p.civic_no for p in uploaded.persons.values() if p.civic_no]
    assert civics and all(is_hashed(c) for c in civics)  # no personnummer in clear travelled
    assert not any(
        p.civic_no in body.decode("latin-1") for p in local.persons.values() if p.civic_no
    )

    config = hosted_config(hosted.folder / "hosted", hosted.inbox)
    async with await Ops.open(config, actor="test:agent") as ops:
        run = await ops.sync("alpha")
    assert run.status == "succeeded", run
    state = json.loads((hosted.folder / "hosted" / "target.json").read_bytes())
    # the same as a run reading the local source directly
    direct = hosted.folder / "direct"
    direct.mkdir()
    (direct / "ess.toml").write_text(
        HOSTED_TOML.replace(
            '{{ type = "agent", inbox = "{inbox}", max_age_hours = {max_age} }}',
            f'{{ type = "memory", path = "{hosted.folder / "local-snap.json"}" }}',
        ),
        encoding="utf-8",
    )
    async with await Ops.open(direct / "ess.toml", actor="test:direct") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
    expected = json.loads((direct / "target.json").read_bytes())
    assert len(state["objects"]["user"]) > 50
    for kind in ("user", "group"):
        assert {k: v["attrs"] for k, v in state["objects"][kind].items()} == {
            k: v["attrs"] for k, v in expected["objects"][kind].items()
        }
    assert state["links"] == expected["links"]


class DropsAnswers(httpx.AsyncBaseTransport):
    """A connection that drops: the second chunk reaches the ingest but its answer is lost,
    the third never leaves. Made here because a drop at an exact chunk cannot be made on a
    real socket reliably."""

    def __init__(self, ca: Path) -> None:
        self.inner = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(ca)))
        self.puts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.puts += 1
            if self.puts == 3:
                raise httpx.ConnectError("connection refused")
            if self.puts == 2:
                response = await self.inner.handle_async_request(request)
                await response.aread()
                raise httpx.ReadError("connection reset by peer")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_dropped_connection_is_resumed_from_the_ingests_offset(hosted: Hosted) -> None:
    transport = DropsAnswers(hosted.ca)
    agent = Agent(hosted.agent_config(chunk_kb=2), RESOLVER, transport=transport)
    try:
        body = await agent.read()
        result = await agent.upload(body)
    finally:
        await agent.aclose()
    assert result.resumed == 2
    latest = await hosted.ingest.inbox.latest("alpha")
    assert latest is not None
    assert latest[1] == body  # every byte once, in order
    assert not list((hosted.inbox / "partial").glob("*.part"))


async def test_an_unknown_agent_is_refused(hosted: Hosted) -> None:
    agent = Agent(hosted.agent_config(name="stranger"), RESOLVER)
    try:
        with pytest.raises(AgentError, match=r"401.*unknown agent 'stranger'"):
            await agent.run_once()
    finally:
        await agent.aclose()
    assert await hosted.ingest.inbox.latest("alpha") is None


async def test_a_wrong_tenant_is_refused(hosted: Hosted) -> None:
    agent = Agent(hosted.agent_config(tenant="beta"), RESOLVER)
    try:
        with pytest.raises(AgentError, match=r"403.*does not serve tenant 'beta'"):
            await agent.run_once()
    finally:
        await agent.aclose()
    assert await hosted.ingest.inbox.latest("beta") is None


async def test_a_replayed_upload_is_refused(hosted: Hosted) -> None:
    key = "alpha-agent-key-0123456789"
    body = encode_snapshot(tiny_snapshot(), keyed_hash)

    meta = json.dumps(
        {"seq": 5, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    ).encode()
    verify = ssl.create_default_context(cafile=str(hosted.ca))
    async with httpx.AsyncClient(base_url=hosted.url, verify=verify) as client:

        async def send(method: str, target: str, content: bytes, when: int) -> httpx.Response:
            headers = agent_auth.signed_headers(
                key, method, target, "alpha-agent", "alpha", when, content
            )
            return await client.request(method, target, content=content, headers=headers)

        now = int(datetime.now(UTC).timestamp())
        begun = await send("POST", "/v1/uploads", meta, now)
        upload_id = begun.json()["upload_id"]
        assert (
            await send("PUT", f"/v1/uploads/{upload_id}?offset=0", body, now)
        ).status_code == 200
        assert (await send("POST", f"/v1/uploads/{upload_id}/commit", b"", now)).status_code == 200

        again = await send("POST", "/v1/uploads", meta, now)  # the same signed request
        assert again.status_code == 409
        assert "replay" in again.json()["error"]
        late = await send("POST", "/v1/uploads", meta.replace(b'"seq": 5', b'"seq": 6'), now - 3600)
        assert late.status_code == 401
        forged = agent_auth.signed_headers(
            key, "POST", "/v1/uploads", "alpha-agent", "alpha", now, b"x"
        )
        bad = await client.post("/v1/uploads", content=meta, headers=forged)
        assert bad.status_code == 401
    latest = await hosted.ingest.inbox.latest("alpha")
    assert latest is not None and latest[0].seq == 5


async def test_an_upload_with_a_personnummer_in_clear_is_refused(hosted: Hosted) -> None:
    agent = Agent(hosted.agent_config(), RESOLVER)
    try:
        clear = encode_snapshot(tiny_snapshot(), lambda civic: civic)
        with pytest.raises(AgentError, match="personnummer in clear"):
            await agent.upload(clear)
    finally:
        await agent.aclose()
    assert await hosted.ingest.inbox.latest("alpha") is None
    assert not list((hosted.inbox / "partial").glob("*"))  # nothing of it kept


async def test_a_stale_upload_is_a_source_error_never_a_removal(hosted: Hosted) -> None:
    agent = Agent(hosted.agent_config(chunk_kb=64), RESOLVER)
    try:
        await agent.run_once()
    finally:
        await agent.aclose()
    folder = hosted.folder / "hosted"
    config = hosted_config(folder, hosted.inbox)
    async with await Ops.open(config, actor="test:agent") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
    users = len(json.loads((folder / "target.json").read_bytes())["objects"]["user"])
    # the upload ages past max_age_hours
    meta_path = hosted.inbox / "tenants" / "alpha" / "latest.json"
    meta = json.loads(meta_path.read_bytes())
    meta["received_at"] = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    meta_path.write_text(json.dumps(meta))
    async with await Ops.open(config, actor="test:agent") as ops:
        run = await ops.sync("alpha")
    assert run.status == "failed"
    state = json.loads((folder / "target.json").read_bytes())
    assert len(state["objects"]["user"]) == users
    assert all(not u.get("suspended") for u in state["objects"]["user"].values())


def keyed_hash(civic: str) -> str:
    from engine.civic_hash import KeyedCivicHash

    return KeyedCivicHash(RESOLVER.resolve("env:CIVIC_KEY"))(civic)
