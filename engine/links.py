"""A target's links (parent, child pairs) kept grouped by parent, each parent's children a set.

Memberships dominate a municipality's data: about two million pairs in a large one. Grouped by
parent (a class and its members), the planner compares one class's members in a single
C-level set comparison and takes the difference of two classes' members in C; and the whole set
costs a hash slot per pair instead of a tuple and a hash slot per pair. Children are kept in no
order: order is made where it is seen (iterating a link set, and writing a plan's operations
out), so two million pairs are never sorted to be compared.

Reading code can still treat a :class:`LinkSet` as a set of pairs: iteration yields
``(parent, child)`` sorted, ``(p, c) in links`` works and ``len`` counts pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

Pair = tuple[str, str]


class LinkSet:
    """An immutable set of (parent, child) links, stored as parent -> frozenset of children."""

    __slots__ = ("_by_parent", "_len")

    _by_parent: dict[str, frozenset[str]]
    _len: int

    def __init__(self, pairs: Iterable[Pair] = ()) -> None:
        groups: dict[str, set[str]] = {}
        for parent, child in pairs:
            kids = groups.get(parent)
            if kids is None:
                groups[parent] = {child}
            else:
                kids.add(child)
        self._set({p: frozenset(kids) for p, kids in groups.items()})

    def _set(self, by_parent: dict[str, frozenset[str]]) -> None:
        self._by_parent = by_parent
        self._len = sum(map(len, by_parent.values()))

    @classmethod
    def from_groups(cls, groups: Mapping[str, Iterable[str]]) -> LinkSet:
        """From parent -> children (any order, repeats allowed); empty parents are dropped."""
        out = cls.__new__(cls)
        out._set(
            {
                parent: kids if type(kids) is frozenset else frozenset(kids)
                for parent, kids in groups.items()
                if kids
            }
        )
        return out

    # -- reading ----------------------------------------------------------------------------

    @property
    def by_parent(self) -> Mapping[str, frozenset[str]]:
        """Parent -> its children, in no order (sort where order is shown or stored)."""
        return self._by_parent

    def children(self, parent: str) -> tuple[str, ...]:
        """One parent's children, sorted."""
        return tuple(sorted(self._by_parent.get(parent, ())))

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Pair]:
        by_parent = self._by_parent
        for parent in sorted(by_parent):
            for child in sorted(by_parent[parent]):
                yield parent, child

    def __contains__(self, pair: object) -> bool:
        if type(pair) is not tuple or len(pair) != 2:
            return False
        kids = self._by_parent.get(pair[0])
        return kids is not None and pair[1] in kids

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
        drop_p, drop_c = set(parents), frozenset(children)
        if not (drop_p or drop_c):
            return self
        by_parent: dict[str, frozenset[str]] = {}
        for parent, kids in self._by_parent.items():
            if parent in drop_p:
                continue
            if drop_c and not drop_c.isdisjoint(kids):
                kids = kids - drop_c
            if kids:
                by_parent[parent] = kids
        out = LinkSet.__new__(LinkSet)
        out._set(by_parent)
        return out


EMPTY_LINKS = LinkSet()
