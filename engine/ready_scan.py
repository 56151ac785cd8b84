"""Which seqs of each lane a pass of the executor looks at.

A pass used to walk every waiting seq of a lane, those already handed out and those whose
dependencies had not finished included, on every completed request: with thousands of
operations in flight or waiting, that walk was most of the executor's own CPU. Here a lane
keeps only its candidates, in seq order; a seq found waiting for a dependency is set aside
under that dependency and comes back when it finishes, a handed-out seq comes back only if it
is to be sent or read back again. The executor still decides everything else (blocked, retry
time, window, caps) exactly as before, on the same seqs in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class ReadyScan:
    """Candidates per lane, fed when a dependency finishes instead of rescanned."""

    def __init__(self, lanes: Mapping[str, Iterable[int]]) -> None:
        self._cand: dict[str, dict[int, None]] = {
            lane: dict.fromkeys(sorted(seqs)) for lane, seqs in lanes.items()
        }
        self._back: dict[str, list[int]] = {}  # to merge before the lane is scanned next
        self._drop: list[int] = []  # set aside during the scan of a lane
        self._waiters: dict[int, list[tuple[int, str]]] = {}  # dependency -> (seq, lane)
        self.woken = False
        """Set when a finished item brought dependents back: another pass must look."""

    def candidates(self, lane: str) -> Iterable[int]:
        """The lane's candidates in seq order; call `settle` once the walk is over."""
        back = self._back.pop(lane, None)
        cand = self._cand.setdefault(lane, {})
        if back:
            back.sort()
            if cand and back[0] < next(reversed(cand)):
                cand.update(dict.fromkeys(back))
                cand = self._cand[lane] = dict.fromkeys(sorted(cand))
            else:
                cand.update(dict.fromkeys(back))
        return cand

    def begin_pass(self) -> None:
        self.woken = False

    def wait_for(self, seq: int, lane: str, dependency: int) -> None:
        """`seq` waits for `dependency`: it leaves the scan until that one finishes."""
        self._drop.append(seq)
        self._waiters.setdefault(dependency, []).append((seq, lane))

    def settle(self, lane: str) -> None:
        cand = self._cand[lane]
        for seq in self._drop:
            cand.pop(seq, None)
        self._drop.clear()

    def handed_out(self, lane: str, seq: int) -> None:
        self._cand.get(lane, {}).pop(seq, None)

    def returned(self, lane: str, seq: int) -> None:
        """Handed out and back, still open: it is to be sent or read back again."""
        self._back.setdefault(lane, []).append(seq)

    def finished(self, seq: int) -> None:
        """`seq` is final (done or not): what waited for it is looked at again."""
        for waiter, lane in self._waiters.pop(seq, ()):
            self._back.setdefault(lane, []).append(waiter)
            self.woken = True
