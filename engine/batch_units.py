"""Windows of ready work cut in whole batch units (:class:`engine.target.BatchUnit`).

The executor hands a target its ready work a window at a time, so that what it holds stays
bounded however large a run is. A target that carries many operations in one request (a SCIM
Bulk request, a Graph ``$batch``) groups each window on its own, so a window that ends inside a
group would leave that group's last request of the window part-full, once per window.
:class:`UnitTally` counts what of each group is not handed out yet and, of a window that
stopped short of the lane's end, holds back the part-full last request of every group that
goes on past it: only a group's last request in a level may be part-full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from engine.plan import Operation
from engine.target import Batch, BatchUnit

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

    def whole(self, batches: Sequence[Batch], ready: Sequence[Operation]) -> list[Batch]:
        """``batches``, the target's requests for ``ready``, a window that stopped short of its
        lane's end, without the last batch of each group that goes on past the window when
        that batch carries fewer than the group's ``size``: its operations wait for the next
        window, to go out with more of their group. A target that packs by bytes as well
        (SCIM's ``maxPayloadSize``) has only that one part-full batch held back too. Groups
        the window holds all that is left of, and operations that go alone, stay."""
        counts = Counter(k for op in ready if (k := self._key(op)) is not None)
        going_on = {k for k, n in counts.items() if n < self._left[k]}
        last: dict[Key, int] = {}
        for i, batch in enumerate(batches):
            k = self._key(batch.operations[0])
            if k in going_on:
                last[k] = i
        held = {i for k, i in last.items() if len(batches[i].operations) < self._sizes[k]}
        return [b for i, b in enumerate(batches) if i not in held]
