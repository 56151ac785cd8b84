"""``ess scheduler --hosted --once`` queues runs that workers then run; ``ess worker`` refuses
an on-site journal."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from console.cli import app
from engine.config import load
from engine.ops import Ops
from engine.workers import Workers
from tests.conftest import Workdir
from tests.workers.test_workers import hosted, jobs


def test_worker_and_hosted_scheduler_refuse_an_on_site_journal(workdir: Workdir) -> None:
    runner = CliRunner()
    for args in (["worker"], ["scheduler", "--hosted", "--once"]):
        done = runner.invoke(app, ["--config", str(workdir.config), *args])
        assert done.exit_code == 2, done.output
        assert "[journal] url" in done.output


def test_the_hosted_scheduler_queues_each_tenant_once_and_a_worker_runs_it(
    workdir: Workdir, pg_dsn: str
) -> None:
    text = workdir.config.read_text(encoding="utf-8")
    workdir.config.write_text(
        text.replace("[tenants.alpha]\n", '[tenants.alpha]\nschedule = "0 3 * * *"\n'),
        encoding="utf-8",
    )
    config = hosted(workdir, pg_dsn)
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "scheduler", "--hosted", "--once"])
    assert first.exit_code == 0, first.output
    assert "alpha: run queued" in first.output
    again = runner.invoke(app, ["--config", str(config), "scheduler", "--hosted", "--once"])
    assert "alpha: a run already waits in the queue" in again.output
    assert [s for _, s, _ in jobs(pg_dsn)] == ["todo"]

    async def work_then_look() -> list[str]:
        workers = Workers(load(config))
        async with workers.app.open_async():
            await workers.run_worker(wait=False, name="w")
        async with await Ops.open(config, actor="test") as ops:
            return [r.status for r in await ops.runs("alpha")]

    assert asyncio.run(work_then_look()) == ["succeeded"]


def test_a_worker_serves_metrics_and_health_while_it_runs(workdir: Workdir, pg_dsn: str) -> None:
    config = hosted(workdir, pg_dsn)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ess = Path(sys.executable).with_name("ess")
    proc = subprocess.Popen(
        [str(ess), "--config", str(config), "worker", "--name", "w1", "--metrics-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the worker never served its metrics"
                time.sleep(0.2)
        assert metrics.status_code == 200
        assert "ess_runs" in metrics.text and "ess_journal_size_bytes" in metrics.text
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200, health.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
