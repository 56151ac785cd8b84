"""What a failed source holds: the removal of what it brought to the last complete merge, and
of what no complete merge attributed to any source; never the other sources' leavers."""

from __future__ import annotations

from engine.source_failure import FailedSources
from engine.target import DesiredObject, DesiredState, KindSpec, MirrorObject, ObservedState

KINDS = (KindSpec("user", 1, "suspend"), KindSpec("group", 2), KindSpec("licence", 3))
RECORD_TYPES = {"user": "person", "group": "group"}  # a licence stands for no record
OWNERS = {
    "gy": {"person": {"g1", "both"}, "group": {"gy-class"}},
    "grund": {"person": {"r1", "r2", "both"}, "group": {"grund-class"}},
}


def _observed(**kinds: list[str]) -> ObservedState:
    return ObservedState(
        {k: {key: MirrorObject(k, key, key, "f") for key in keys} for k, keys in kinds.items()},
        {},
    )


def _desired(**kinds: list[str]) -> DesiredState:
    return DesiredState(
        {
            k: {key: DesiredObject(k, key, (("n", key),)) for key in keys}
            for k, keys in kinds.items()
        },
        {},
    )


def test_only_the_failed_sources_records_and_unknown_ones_are_held() -> None:
    failure = FailedSources.of(["gy"], OWNERS)
    observed = _observed(
        user=["g1", "r1", "r2", "both", "stranger"],
        group=["gy-class", "grund-class"],
        licence=["l1"],
    )
    desired = _desired(user=["r2"], group=[])
    held = failure.held(KINDS, RECORD_TYPES, desired, observed)
    # g1: the failed source's; both: the failed source may list them still; stranger: no
    # complete merge said whose it is; l1: a kind no source record stands for
    assert held == {
        "user": frozenset({"g1", "both", "stranger"}),
        "group": frozenset({"gy-class"}),
        "licence": frozenset({"l1"}),
    }
    # r1 left the source that was read: not held, so the planner retires it


def test_a_person_the_read_source_still_lists_is_not_held() -> None:
    failure = FailedSources.of(["grund"], OWNERS)
    observed = _observed(user=["both", "g1", "r1"], group=["gy-class", "grund-class"])
    held = failure.held(KINDS, RECORD_TYPES, _desired(user=["both"]), observed)
    # "both" is still listed by gy, so nothing of theirs is held: their memberships in gy's
    # groups follow gy; g1 and gy-class left gy, which was read: they go
    assert held == {"user": frozenset({"r1"}), "group": frozenset({"grund-class"})}


def test_with_nothing_known_of_the_owners_everything_missing_is_held() -> None:
    failure = FailedSources.of(["gy"], {})
    observed = _observed(user=["a", "b"], group=["c"])
    held = failure.held(KINDS, RECORD_TYPES, _desired(user=["a"]), observed)
    assert held == {"user": frozenset({"b"}), "group": frozenset({"c"})}
