"""The kit's gatherer: requests asked in the same moment go out in one send, and each caller
gets its own answers back; a failed send reaches every caller of that round."""

from __future__ import annotations

import asyncio

import pytest

from adapters.kit.coalesce import Gatherer


class Envelopes:
    """A sender that records each envelope and answers each request with its text doubled."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[list[str]] = []
        self.fail = fail

    async def __call__(self, requests: list[str]) -> list[str]:
        self.sent.append(list(requests))
        if self.fail:
            raise ConnectionError("the envelope could not be sent")
        return [r * 2 for r in requests]


async def test_requests_asked_in_the_same_moment_travel_in_one_send() -> None:
    send = Envelopes()
    gather: Gatherer[str, str] = Gatherer(send)
    answers = await asyncio.gather(
        gather.ask(["a"]), gather.ask(["b", "c"]), gather.ask([]), gather.ask(["d"])
    )
    assert answers == [["aa"], ["bb", "cc"], [], ["dd"]]
    assert send.sent == [["a", "b", "c", "d"]]
    assert await gather.ask(["e"]) == ["ee"]  # asked later: a round of its own
    assert send.sent[-1] == ["e"]


async def test_a_send_that_fails_fails_every_caller_of_its_round() -> None:
    gather: Gatherer[str, str] = Gatherer(Envelopes(fail=True))
    results = await asyncio.gather(gather.ask(["a"]), gather.ask(["b"]), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    with pytest.raises(ConnectionError):
        await gather.ask(["c"])
