"""``ess ingest`` with a ``[journal]``: uploads kept in the hosted journal, so that several
ingest processes serve one installation with no shared folder, and the tenant's ``agent``
source (no inbox) plans from what they stored. Two :class:`Ingest` instances, each with its
own journal connection, stand for two ingest processes behind one address; the agents reach
them through httpx's ASGI transport (the signing and the routes are the real ones)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from engine.agent import Agent, AgentConfig, AgentError
from engine.ingest import Ingest, IngestConfig, IngestConfigError, load_config
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot
from tests.hosted_agent.conftest import RESOLVER


@dataclass
class Installation:
    folder: Path
    journal: dict[str, str]  # the [journal] table, for the ingest and the hosted ess.toml
    ingests: tuple[Ingest, Ingest]

    def agent(
        self, transport: httpx.AsyncBaseTransport, *, seq: int | None = None, seed: int = 1
    ) -> Agent:
        snap = self.folder / f"local-snap-{seed}.json"
        if not snap.exists():
            write_snapshot(tiny_snapshot(seed=seed), snap)
        config = AgentConfig.model_validate(
            {
                "agent": {
                    "name": "alpha-agent",
                    "tenant": "alpha",
                    "url": "https://ingest.example.se",
                    "key": "env:ALPHA_AGENT_KEY",
                    "civic_key": "env:CIVIC_KEY",
                    "state": str(self.folder / f"agent-state-{seed}.json"),
                    "chunk_kb": 2,
                    "retries": 1,
                },
                "source": {"type": "memory", "path": str(snap)},
            }
        )
        if seq is None:
            return Agent(config, RESOLVER, transport=transport)
        return FixedSeqAgent(seq, config, RESOLVER, transport=transport)

    def hosted_toml(self, max_age: float = 26) -> Path:
        folder = self.folder / "hosted"
        folder.mkdir(exist_ok=True)
        table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in self.journal.items())
        path = folder / "ess.toml"
        path.write_text(
            f'[journal]\n{table}\n\n[tenants.alpha]\nname = "Alpha kommun"\n'
            f'source = {{ type = "agent", max_age_hours = {max_age} }}\n\n'
            '[tenants.alpha.targets.mem]\ntype = "memory"\nstate = "target.json"\n',
            encoding="utf-8",
        )
        return path


class FixedSeqAgent(Agent):
    """An agent whose sequence number is given, as a restored or cloned agent's would be."""

    def __init__(self, seq: int, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fixed = seq

    def next_seq(self) -> int:
        return self.fixed


class SwitchesAfter(httpx.AsyncBaseTransport):
    """A load balancer that sends the first ``n`` requests to one ingest and the rest to
    the other, as after a dropped connection lands on another machine."""

    def __init__(self, first: Ingest, second: Ingest, n: int) -> None:
        self.first = httpx.ASGITransport(app=first.app())
        self.second = httpx.ASGITransport(app=second.app())
        self.n, self.seen = n, 0
        self.reached: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        which = 1 if self.seen <= self.n else 2
        self.reached.append(which)
        return await (self.first if which == 1 else self.second).handle_async_request(request)


@pytest.fixture(params=["postgres", "sqlite"])
async def installation(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Installation]:
    if request.param == "postgres":
        journal = {"url": str(request.getfixturevalue("pg_dsn"))}
    else:
        journal = {"path": str(tmp_path / "hosted" / "ess.db")}
        (tmp_path / "hosted").mkdir()

    def ingest() -> Ingest:
        config = IngestConfig.model_validate(
            {
                "ingest": {"tls_cert": "cert.pem", "tls_key": "key.pem"},
                "journal": journal,
                "agents": {"alpha-agent": {"key": "env:ALPHA_AGENT_KEY", "tenants": ["alpha"]}},
            }
        )
        return Ingest(config, RESOLVER)

    pair = (ingest(), ingest())
    for one in pair:  # each opens (and migrates) its journal, one after the other
        assert await one.inbox.latest_meta("alpha") is None
    try:
        yield Installation(tmp_path, journal, pair)
    finally:
        for one in pair:
            await one.aclose()


async def test_an_upload_begun_on_one_ingest_is_finished_on_the_other_and_a_run_uses_it(
    installation: Installation,
) -> None:
    first, second = installation.ingests
    transport = SwitchesAfter(first, second, n=3)  # begin and two chunks, then the other
    agent = installation.agent(transport)
    try:
        body = await agent.read()
        result = await agent.upload(body)
    finally:
        await agent.aclose()
    assert 1 in transport.reached and 2 in transport.reached
    assert transport.reached[-1] == 2  # the commit reached the other process
    latest = await first.inbox.latest("alpha")  # either process sees the accepted upload
    assert latest is not None
    assert latest[1] == body and latest[0].seq == result.seq

    config = installation.hosted_toml()
    async with await Ops.open(config, actor="test:worker") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded", run
        (status,) = await ops.agents("alpha")
    assert status.agent == "alpha-agent" and status.seq == result.seq and not status.stale
    assert status.inbox == "the journal"
    state = json.loads((config.parent / "target.json").read_bytes())
    assert len(state["objects"]["user"]) > 50  # planned and applied from the upload


async def test_two_racing_uploads_with_one_sequence_number_one_is_accepted_one_is_409(
    installation: Installation,
) -> None:
    first, second = installation.ingests
    one = installation.agent(httpx.ASGITransport(app=first.app()), seq=4242, seed=1)
    two = installation.agent(httpx.ASGITransport(app=second.app()), seq=4242, seed=2)
    try:
        body_one = await one.read()
        body_two = await two.read()
        results = await asyncio.gather(
            one.upload(body_one), two.upload(body_two), return_exceptions=True
        )
    finally:
        await one.aclose()
        await two.aclose()
    refused = [r for r in results if isinstance(r, AgentError)]
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert "(409)" in str(refused[0]) and "replay" in str(refused[0])
    latest = await second.inbox.latest("alpha")
    assert latest is not None and latest[0].seq == 4242
    assert latest[1] == (body_one if accepted[0] is results[0] else body_two)


async def test_one_upload_sent_through_both_ingests_at_once_is_stored_whole_once(
    installation: Installation,
) -> None:
    """The same upload (an agent that lost an answer and asked again, reaching the other
    process) racing itself: its chunks, commits and a discard on either side leave the
    accepted body whole; a copy that begins after the acceptance is a replay."""
    first, second = installation.ingests
    one = installation.agent(httpx.ASGITransport(app=first.app()), seq=77)
    two = installation.agent(httpx.ASGITransport(app=second.app()), seq=77)
    try:
        body = await one.read()
        results = await asyncio.gather(one.upload(body), two.upload(body), return_exceptions=True)
    finally:
        await one.aclose()
        await two.aclose()
    assert any(not isinstance(r, BaseException) and r.seq == 77 for r in results), results
    for refused in (r for r in results if isinstance(r, BaseException)):
        assert isinstance(refused, AgentError) and "(409)" in str(refused), refused
    latest = await first.inbox.latest("alpha")
    assert latest is not None and latest[1] == body


async def test_a_stale_upload_in_the_journal_stops_the_run_and_removes_nothing(
    installation: Installation,
) -> None:
    first, _ = installation.ingests
    agent = installation.agent(httpx.ASGITransport(app=first.app()))
    try:
        await agent.run_once()
    finally:
        await agent.aclose()
    config = installation.hosted_toml(max_age=1)
    async with await Ops.open(config, actor="test:worker") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
    target = config.parent / "target.json"
    users = len(json.loads(target.read_bytes())["objects"]["user"])
    from engine.journal.agent_uploads import JournalUploads

    uploads = first.inbox
    assert isinstance(uploads, JournalUploads)
    journal = await uploads._j()
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    async with journal.transaction() as tx:
        await tx.execute("UPDATE agent_snapshots SET received_at=? WHERE tenant=?", (old, "alpha"))
    async with await Ops.open(config, actor="test:worker") as ops:
        run = await ops.sync("alpha")
        (status,) = await ops.agents("alpha")
    assert run.status == "failed"
    assert status.stale
    state = json.loads(target.read_bytes())
    assert len(state["objects"]["user"]) == users
    assert all(not u.get("suspended") for u in state["objects"]["user"].values())


@pytest.mark.parametrize(
    ("store", "problem"),
    [
        ('inbox = "inbox"\n\n[journal]\npath = "ess.db"', "one store"),
        ("", "one store"),
        ('\n[journal]\nurl = "postgresql://ess:pw@db/ess"', "holds a password"),
    ],
)
def test_an_ingest_config_names_exactly_one_store(tmp_path: Path, store: str, problem: str) -> None:
    path = tmp_path / "ingest.toml"
    path.write_text(f'[ingest]\ntls_cert = "c.pem"\ntls_key = "k.pem"\n{store}\n', encoding="utf-8")
    with pytest.raises(IngestConfigError, match=problem) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
