"""``ess ingest`` with a ``[journal]``, as the command it is: started in its own process on a
loopback port with a trustme certificate, it takes an upload from ``ess agent run --once``
and the snapshot is accepted in the journal (SQLite and PostgreSQL). Its startup line names
where uploads are kept and prints no secret."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner

from console.cli import app
from engine.journal import Journal, SqliteJournal
from engine.journal.agent_uploads import JournalUploads
from engine.journal.postgres import PostgresJournal, display_url
from tests.hosted_agent.conftest import KEYS, free_port
from tests.hosted_agent.test_agent_cli import agent_folder

ROOT = Path(__file__).resolve().parents[2]
JOURNAL_PASSWORD = "journal-pw-never-shown-7f3a"  # trust auth: the server does not ask


def wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ess ingest stopped: {proc.communicate()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("ess ingest never listened")


@pytest.fixture(params=["sqlite", "postgres"])
def journal_table(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f'path = "{tmp_path / "hosted" / "ess.db"}"'
    dsn = str(request.getfixturevalue("pg_dsn"))
    return f'url = "{dsn}"\npassword = "env:ESS_JOURNAL_PASSWORD"'


@pytest.fixture
def ingest_command(
    tmp_path: Path, journal_table: str
) -> Iterator[tuple[str, Path, str, subprocess.Popen[str]]]:
    """The running ``ess ingest``: its URL, the CA to trust, its startup line, the process."""
    folder = tmp_path / "hosted"
    folder.mkdir()
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    port = free_port()
    config = folder / "ingest.toml"
    config.write_text(
        f'[ingest]\nhost = "127.0.0.1"\nport = {port}\ntls_cert = "cert.pem"\n'
        f'tls_key = "key.pem"\n\n[journal]\n{journal_table}\n\n'
        '[agents.alpha-agent]\nkey = "env:ALPHA_AGENT_KEY"\ntenants = ["alpha"]\n',
        encoding="utf-8",
    )
    env = {**os.environ, **KEYS, "ESS_JOURNAL_PASSWORD": JOURNAL_PASSWORD}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from console.cli import main; main()", "ingest", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        wait_for_port(port, proc)
        yield f"https://127.0.0.1:{port}", tmp_path / "ca.pem", line, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def accepted_in(journal_table: str) -> tuple[int, str] | None:
    """The sequence number and agent of tenant alpha's snapshot, read from the journal."""
    journal: Journal
    if journal_table.startswith("url"):
        journal = await PostgresJournal.connect(journal_table.split('"')[1])
    else:
        journal = await SqliteJournal.open(Path(journal_table.split('"')[1]))
    try:
        meta = await JournalUploads(journal).latest_meta("alpha")
        return None if meta is None else (meta.seq, meta.agent)
    finally:
        await journal.close()


def test_the_ingest_command_keeps_an_agents_upload_in_the_journal(
    ingest_command: tuple[str, Path, str, subprocess.Popen[str]], journal_table: str
) -> None:
    url, ca, line, proc = ingest_command
    where = journal_table.split('"')[1]
    assert line.startswith(f"ingest listening on {url} for 1 agent(s); uploads kept in journal")
    if where.startswith("postgresql://"):
        assert f"uploads kept in journal {display_url(where)}" in line
    else:
        assert where in line
    assert asyncio.run(accepted_in(journal_table)) is None

    agent_toml = agent_folder(ca.parent, url, ca)
    done = CliRunner().invoke(app, ["agent", "run", "--once", str(agent_toml)], env=KEYS)
    assert done.exit_code == 0, done.output
    assert "uploaded" in done.output

    kept = asyncio.run(accepted_in(journal_table))
    assert kept is not None and kept[0] > 0 and kept[1] == "alpha-agent"
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    shown = line + out + err
    for secret in (JOURNAL_PASSWORD, *KEYS.values()):
        assert secret not in shown
