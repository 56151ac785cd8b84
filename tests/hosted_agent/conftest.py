"""An ingest served over real HTTPS on loopback (trustme), and agents that upload to it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
import uvicorn

from engine.agent import AgentConfig
from engine.ingest import Ingest, IngestConfig
from engine.secrets import SecretResolver
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot

KEYS = {"ALPHA_AGENT_KEY": "alpha-agent-key-0123456789", "CIVIC_KEY": "civic-key-abcdef"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hosted:
    """The running ingest: its URL, the CA the agent trusts, and its inbox."""

    url: str
    ca: Path
    inbox: Path
    folder: Path
    ingest: Ingest

    def agent_config(
        self, *, name: str = "alpha-agent", tenant: str = "alpha", chunk_kb: int = 1
    ) -> AgentConfig:
        snap = self.folder / "local-snap.json"
        if not snap.exists():
            write_snapshot(tiny_snapshot(), snap)
        return AgentConfig.model_validate(
            {
                "agent": {
                    "name": name,
                    "tenant": tenant,
                    "url": self.url,
                    "key": "env:ALPHA_AGENT_KEY",
                    "ca": str(self.ca),
                    "civic_key": "env:CIVIC_KEY",
                    "state": str(self.folder / f"{name}-state.json"),
                    "chunk_kb": chunk_kb,
                    "retries": 3,
                },
                "source": {"type": "memory", "path": str(snap)},
            }
        )


RESOLVER = SecretResolver(environ=dict(KEYS))


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[Hosted]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    port = free_port()
    config = IngestConfig.model_validate(
        {
            "ingest": {
                "inbox": str(tmp_path / "inbox"),
                "host": "127.0.0.1",
                "port": port,
                "tls_cert": str(cert_file),
                "tls_key": str(key_file),
            },
            "agents": {"alpha-agent": {"key": "env:ALPHA_AGENT_KEY", "tenants": ["alpha"]}},
        }
    )
    ingest = Ingest(config, RESOLVER)
    server = uvicorn.Server(
        uvicorn.Config(
            ingest.app(),
            host="127.0.0.1",
            port=port,
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
            log_level="warning",
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the ingest did not start"
        time.sleep(0.02)
    try:
        yield Hosted(f"https://127.0.0.1:{port}", ca_file, tmp_path / "inbox", tmp_path, ingest)
    finally:
        server.should_exit = True
        thread.join(10)
