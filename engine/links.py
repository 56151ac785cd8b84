"""A target's links (parent, child pairs) kept grouped by parent, each parent's children sorted.

Memberships dominate a municipality's data: about two million pairs in a large one. Grouped by
parent (a class and its members), the planner compares one class's members in a single
C-level tuple comparison, lists what to add in parent and child order without sorting millions
of pairs, and the whole set costs a pointer per pair instead of a tuple and a hash slot per pair.

Reading code can still treat a :class:`LinkSet` as a set of pairs: iteration yields
``(parent, child)`` in order, ``(p, c) in links`` works and ``len`` counts pairs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping

Pair = tuple[str, str]


class LinkSet:
    """An immutable set of (parent, child) links, stored as parent -> sorted children."""

    __slots__ = ("_by_parent", "_len")

    _by_parent: dict[str, tuple[str, ...]]
    _len: int

    def __init__(self, pairs: Iterable[Pair] = ()) -> None:
        groups: dict[str, set[str]] = {}
        for parent, child in pairs:
            kids = groups.get(parent)
            if kids is None:
                groups[parent] = {child}
            else:
                kids.add(child)
        self._set({p: tuple(sorted(groups[p])) for p in sorted(groups)})

    def _set(self, by_parent: dict[str, tuple[str, ...]]) -> None:
        self._by_parent = by_parent
        self._len = sum(map(len, by_parent.values()))

    @classmethod
    def from_groups(cls, groups: Mapping[str, Iterable[str]]) -> LinkSet:
        """From parent -> children (any order, repeats allowed); empty parents are dropped."""
        out = cls.__new__(cls)
        by_parent: dict[str, tuple[str, ...]] = {}
        for parent in sorted(groups):
            given = groups[parent]
            kids = tuple(sorted(given if isinstance(given, set | frozenset) else set(given)))
            if kids:
                by_parent[parent] = kids
        out._set(by_parent)
        return out

    # -- reading ----------------------------------------------------------------------------

    @property
    def by_parent(self) -> Mapping[str, tuple[str, ...]]:
        """Parent -> its children, parents in sorted order, children sorted and distinct."""
        return self._by_parent

    def children(self, parent: str) -> tuple[str, ...]:
        return self._by_parent.get(parent, ())

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Pair]:
        for parent, kids in self._by_parent.items():
            for child in kids:
                yield parent, child

    def __contains__(self, pair: object) -> bool:
        if type(pair) is not tuple or len(pair) != 2:
            return False
        kids = self._by_parent.get(pair[0])
        if not kids:
            return False
        i = bisect_left(kids, pair[1])
        return i < len(kids) and kids[i] == pair[1]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LinkSet):
            return self._len == other._len and self._by_parent == other._by_parent
        if isinstance(other, set | frozenset):
            return self._len == len(other) and all(p in self for p in other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LinkSet({self._len} links under {len(self._by_parent)} parents)"

    # -- deriving ---------------------------------------------------------------------------

    def without(self, *, parents: Iterable[str] = (), children: Iterable[str] = ()) -> LinkSet:
        """A copy without the links of the given parents and to the given children."""
        drop_p, drop_c = set(parents), set(children)
        if not (drop_p or drop_c):
            return self
        by_parent: dict[str, tuple[str, ...]] = {}
        for parent, kids in self._by_parent.items():
            if parent in drop_p:
                continue
            if drop_c and not drop_c.isdisjoint(kids):
                kids = tuple(c for c in kids if c not in drop_c)
            if kids:
                by_parent[parent] = kids
        out = LinkSet.__new__(LinkSet)
        out._set(by_parent)
        return out


EMPTY_LINKS = LinkSet()
