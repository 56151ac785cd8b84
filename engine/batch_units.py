"""Windows of ready work cut in whole batch units (:class:`engine.target.BatchUnit`).

The executor hands a target its ready work a window at a time, so that what it holds stays
bounded however large a run is. A target that carries many operations in one request (a SCIM
Bulk request, a Graph ``$batch``) groups each window on its own, so a window that ends inside a
group would leave that group's last request of the window part-full, once per window.
:class:`UnitTally` counts what of each group is not handed out yet and cuts a window that
stopped short of the lane's end to whole units of every group that goes on past it: only a
group's last request in a level may be part-full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from engine.plan import Operation
from engine.target import BatchUnit

Key = tuple[str, str]  # (lane, group)


class UnitTally:
    """What of each group of one level is still to be handed to the target, per lane.

    A group's name must stay the same for an operation through a run; its size may change
    (a SCIM target learns the service's ``maxOperations`` when it first reads it)."""

    def __init__(
        self,
        ops: Iterable[Operation],
        unit: Callable[[Operation], BatchUnit],
        lane: Callable[[Operation], str],
    ) -> None:
        self._unit = unit
        self._lane = lane
        self._sizes: dict[Key, int] = {}
        self._left: Counter[Key] = Counter()
        for op in ops:
            key = self._key(op)
            if key is not None:
                self._left[key] += 1

    @property
    def largest(self) -> int:
        """The largest unit of the level (1 when every operation goes alone)."""
        return max(self._sizes.values(), default=1)

    def _key(self, op: Operation) -> Key | None:
        u = self._unit(op)
        if u.size <= 1:
            return None
        key = (self._lane(op), u.group)
        self._sizes[key] = u.size
        return key

    def handed_out(self, op: Operation) -> None:
        """``op`` left the lane's waiting work: sent, looked up or blocked."""
        key = self._key(op)
        if key is not None:
            self._left[key] -= 1

    def returned(self, op: Operation) -> None:
        """``op`` is waiting again (to be retried or read back)."""
        key = self._key(op)
        if key is not None:
            self._left[key] += 1

    def whole(self, ready: Sequence[Operation]) -> list[Operation]:
        """``ready``, a window that stopped short of its lane's end, without the part of each
        group that fills no whole unit while more of the group is still to be handed out.
        Operations that go alone, and groups the window holds all that is left of, stay."""
        keys = [self._key(op) for op in ready]
        counts = Counter(k for k in keys if k is not None)
        keep: dict[Key, int] = {}
        for key, n in counts.items():
            keep[key] = n if n >= self._left[key] else n - n % self._sizes[key]
        out: list[Operation] = []
        for op, k in zip(ready, keys, strict=True):
            if k is None:
                out.append(op)
            elif keep[k] > 0:
                keep[k] -= 1
                out.append(op)
        return out
