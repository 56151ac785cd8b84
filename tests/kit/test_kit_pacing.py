"""The kit's pacer: a sliding window (not a bucket with a burst), in-flight requests counted
until answered, and a Retry-After that holds every sender."""

from __future__ import annotations

import asyncio
import time

from adapters.kit.pacing import Pacer, WindowLog
from adapters.kit.sandbox import Limit, SlidingWindow


async def test_a_full_window_frees_a_slot_only_when_its_oldest_answer_leaves_it() -> None:
    pacer = Pacer(3, 0.4, headroom=0)
    start = time.monotonic()
    for _ in range(3):
        await pacer.acquire()
        pacer.settle(1)
    assert time.monotonic() - start < 0.1  # the first three go at once
    await pacer.acquire()
    waited = time.monotonic() - start
    pacer.settle(1)
    assert 0.38 <= waited < 1.5  # the fourth waits for the first to leave the window
    assert pacer.used() == 1  # the first three left the window together; the fourth counts


async def test_writes_in_flight_count_until_their_answer_comes() -> None:
    pacer = Pacer(2, 0.2, headroom=0)
    await pacer.acquire()
    await pacer.acquire()
    assert pacer.in_flight == 2
    third = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.5)  # far past the window: unanswered writes never expire
    assert not third.done()
    answered = time.monotonic()
    pacer.settle(2)  # both answered now: they count from here, for one more window
    await asyncio.wait_for(third, 2.0)
    assert time.monotonic() - answered >= 0.19
    assert pacer.in_flight == 1


async def test_a_retry_after_holds_every_sender_reads_too() -> None:
    pacer = Pacer(100, 1.0)
    pacer.hold(0.3)
    start = time.monotonic()
    finished: dict[str, float] = {}

    async def send(name: str, units: int) -> None:
        await pacer.acquire(units)
        finished[name] = time.monotonic() - start
        pacer.settle(units)

    await asyncio.gather(send("write", 1), send("batch", 5), send("read", 0))
    assert set(finished) == {"write", "batch", "read"}
    assert all(t >= 0.3 for t in finished.values()), finished
    assert pacer.held_for == 0


async def test_an_unanswered_write_counts_later_than_an_answered_one() -> None:
    pacer = Pacer(1, 0.2, headroom=0)
    await pacer.acquire()
    pacer.settle(1, later_s=0.3)  # a timeout: the service may still be counting it
    start = time.monotonic()
    await pacer.acquire()
    assert time.monotonic() - start >= 0.45


def test_the_sandbox_refuses_with_the_same_window_the_client_paces_by() -> None:
    window = SlidingWindow()
    limit = Limit(2, 10.0)
    assert window.admit(0.0, limit) is None
    assert window.admit(1.0, limit) is None
    assert window.admit(2.0, limit) == 8.0  # the oldest leaves at 10.0
    assert window.admit(10.5, limit) is None
    log = WindowLog(10.0)
    log.add(0.0)
    log.add(1.0)
    assert log.frees_at(1) == 10.0
