"""The kit's batch rounds: what goes again, how long it waits first, and the bound."""

from __future__ import annotations

from adapters.kit.rounds import in_rounds


async def test_parts_go_again_alone_after_the_longest_wait_until_the_bound() -> None:
    sent: list[list[str]] = []
    waits: list[float] = []

    async def send(parts: list[str]) -> None:
        sent.append(list(parts))

    def again(parts: list[str], round_: int) -> dict[int, float]:
        return {i: 2.0 if p == "slow" else 0.5 for i, p in enumerate(parts) if p != "ok"}

    async def sleep(s: float) -> None:
        waits.append(s)

    rounds = await in_rounds(["ok", "slow", "flaky"], send, again, max_rounds=3, sleep=sleep)
    assert rounds == 3
    assert sent == [["ok", "slow", "flaky"], ["slow", "flaky"], ["slow", "flaky"]]
    assert waits == [2.0, 2.0]  # never sooner than the longest wait asked for


async def test_nothing_goes_again_once_every_part_is_settled() -> None:
    sent: list[list[int]] = []

    async def send(parts: list[int]) -> None:
        sent.append(parts)

    rounds = await in_rounds(
        [1, 2],
        send,
        lambda parts, r: {0: 0.0} if r == 1 else {},
        max_rounds=5,
        prepare=lambda parts: [p * 10 for p in parts],
    )
    assert rounds == 2 and sent == [[1, 2], [10]]
