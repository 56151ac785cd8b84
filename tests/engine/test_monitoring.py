"""The scheduler's ``/metrics`` and ``/healthz`` over real HTTP on loopback: numbers read from
the journal after real runs, a scheduled run missed while another runs, a journal that cannot
be written, and a port that is taken."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.journal import JournalWriteError, SqliteJournal
from engine.monitoring import MetricsServer, Monitor
from engine.ops import OpsError
from engine.scheduler import SchedulerEvent, run_scheduler
from engine.tenant_scope import TenantScope
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TENANT = """
[tenants.{tid}]
schedule = "* * * * *"
timezone = "UTC"
source = {{ type = "memory", path = "{tid}.json" }}

[tenants.{tid}.policy]
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.{tid}.targets.mem]
type = "memory"
state = "{tid}-target.json"
{target}
"""


def install(folder: Path, port: int, margin_s: float, slow: str = "") -> Path:
    """Two tenants due every minute; ``slow`` makes alpha's run take a while."""
    text = '[journal]\npath = "ess.db"\n\n'
    text += f"[metrics]\nport = {port}\nmissed_run_margin_s = {margin_s}\n"
    for tid, target in (("alpha", slow), ("beta", "")):
        write_snapshot(tiny_snapshot(seed=3 if tid == "beta" else 1), folder / f"{tid}.json")
        text += TENANT.format(tid=tid, target=target)
    config = folder / "ess.toml"
    config.write_text(text, encoding="utf-8")
    return config


def near_a_minute(seconds_before: float) -> Callable[[], datetime]:
    """A clock that reads ``seconds_before`` a full minute now, so a cron run is due soon."""
    now = datetime.now(UTC)
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    offset = boundary - timedelta(seconds=seconds_before) - now
    return lambda: datetime.now(UTC) + offset


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


async def test_metrics_after_runs_and_a_missed_run_in_healthz(tmp_path: Path) -> None:
    port = free_port()
    config = install(tmp_path, port, margin_s=1.0, slow="latency_s = 0.4\nbatch_size = 25")
    events: list[SchedulerEvent] = []
    stop = asyncio.Event()
    clock = near_a_minute(0.5)
    scheduler = asyncio.create_task(
        run_scheduler(config, on_event=events.append, stop=stop, clock=clock)
    )
    try:
        # alpha runs first (both are due at the same minute) and takes several seconds:
        # beta's run is missed by more than the margin meanwhile
        for _ in range(400):
            await asyncio.sleep(0.05)
            try:
                health = await get(port, "/healthz")
            except httpx.ConnectError:  # the scheduler is still opening the journal
                continue
            if health.status_code == 503 and "beta:" in health.text:
                break
        else:
            raise AssertionError(f"beta was never reported missed; events: {events}")
        assert "beta: the run due at" in health.text and "was missed by" in health.text
        assert "alpha" not in health.text  # a tenant that is running is not missed
        # both runs end; the next is a minute away: healthy again
        for _ in range(600):
            await asyncio.sleep(0.05)
            if sum(e.kind == "finished" for e in events) == 2:
                break
        else:
            raise AssertionError(f"the runs never finished: {events}")
        for _ in range(100):
            health = await get(port, "/healthz")
            if health.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert (health.status_code, health.text) == (200, "ok\n")
    finally:
        stop.set()
        await scheduler
    with pytest.raises(httpx.ConnectError):  # the server stopped with the scheduler
        await get(port, "/healthz")


async def test_metrics_text_holds_the_journal_numbers(tmp_path: Path) -> None:
    port = free_port()
    config = install(tmp_path, port, margin_s=600)
    await run_scheduler(config, once=True)  # two real runs, no server (not long-running)
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    monitor = Monitor(journal, tmp_path / "ess.db", process="test", missed_run_margin_s=600)
    server = MetricsServer(monitor, "127.0.0.1", port).start()
    try:
        await monitor.refresh()
        response = await get(port, "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        got = samples(response.text)
        assert got[("ess_runs", (("status", "succeeded"), ("tenant", "alpha")))] == 1
        assert got[("ess_runs", (("status", "succeeded"), ("tenant", "beta")))] == 1
        done = {
            labels: v
            for (name, labels), v in got.items()
            if name == "ess_last_run_operations" and ("status", "done") in labels
        }
        assert done and all(v > 0 for v in done.values())
        assert any(("kind", "user") in labels for labels in done)
        success = got[("ess_last_success_timestamp_seconds", (("tenant", "alpha"),))]
        assert abs(success - datetime.now(UTC).timestamp()) < 120
        assert got[("ess_failed_items", (("tenant", "alpha"),))] == 0
        assert got[("ess_held_plans", (("tenant", "beta"),))] == 0
        assert got[("ess_journal_size_bytes", ())] > 100_000
        assert got[("ess_notifications_open", (("tenant", "alpha"),))] == 0
        assert ("ess_notifications_open", ()) not in got  # per tenant, like the others
        assert got[("ess_healthy", ())] == 1
        assert (await get(port, "/other")).status_code == 404
    finally:
        server.stop()
        await journal.close()


async def test_open_notifications_are_counted_per_tenant_within_the_scope(
    tmp_path: Path,
) -> None:
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    try:
        for tenant in ("alpha", "alpha", "beta", "gamma"):
            await journal.add_notice(tenant, "audit_head", "checked")
        every = Monitor(journal, tmp_path / "ess.db", process="t", missed_run_margin_s=600)
        await every.refresh()
        got = samples(every.metrics_text().decode())
        assert got[("ess_notifications_open", (("tenant", "alpha"),))] == 2
        assert got[("ess_notifications_open", (("tenant", "beta"),))] == 1
        assert got[("ess_notifications_open", (("tenant", "gamma"),))] == 1
        scoped = Monitor(
            journal,
            tmp_path / "ess.db",
            process="t",
            missed_run_margin_s=600,
            tenants=TenantScope(frozenset({"beta"}), who="ops"),
        )
        await scoped.refresh()
        named = {
            labels
            for (name, labels) in samples(scoped.metrics_text().decode())
            if name == "ess_notifications_open"
        }
        assert named == {(("tenant", "beta"),)}  # no other tenant is named
    finally:
        await journal.close()


async def test_a_journal_that_cannot_be_written_fails_healthz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    install(tmp_path, port, margin_s=600)
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    monitor = Monitor(journal, tmp_path / "ess.db", process="test", missed_run_margin_s=600)
    server = MetricsServer(monitor, "127.0.0.1", port).start()
    try:
        await monitor.refresh()
        assert (await get(port, "/healthz")).status_code == 200

        async def full_disk(process: str) -> None:
            # a full disk cannot be made on demand here; the journal's own error stands in
            raise JournalWriteError(f"disk full writing {tmp_path / 'ess.db'}; free some space")

        monkeypatch.setattr(journal, "heartbeat", full_disk)
        await monitor.refresh()
        health = await get(port, "/healthz")
        assert health.status_code == 503
        assert health.text.startswith("the journal cannot be written: disk full writing")
        assert samples((await get(port, "/metrics")).text)[("ess_healthy", ())] == 0
    finally:
        server.stop()
        await journal.close()


async def test_healthz_fails_when_the_numbers_stop_coming(tmp_path: Path) -> None:
    install(tmp_path, free_port(), margin_s=1)
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    now = [datetime.now(UTC)]
    monitor = Monitor(
        journal,
        tmp_path / "ess.db",
        process="test",
        missed_run_margin_s=1,
        clock=lambda: now[0],
        refresh_s=10,
    )
    try:
        assert monitor.problems() == ["no numbers read from the journal yet"]
        await monitor.refresh()
        assert monitor.problems() == []
        now[0] += timedelta(seconds=32)  # three refreshes and the margin have passed
        assert monitor.problems()[0].endswith("the process is stuck")
    finally:
        await journal.close()


async def test_a_taken_metrics_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = install(tmp_path, port, margin_s=600)
        with pytest.raises(OpsError, match=rf"cannot serve metrics on 127\.0\.0\.1:{port} "):
            await run_scheduler(config, stop=asyncio.Event())
