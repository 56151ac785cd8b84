"""The collector pause around bulk steps: nothing collected inside, the step's objects frozen
out of the way afterwards, and nothing lost for good once a run thaws them."""

from __future__ import annotations

import gc
import weakref

from engine.perf import gc_paused, thaw


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_the_step_runs_without_collections_and_ends_frozen() -> None:
    thaw()
    gc.collect()
    before = gc.get_freeze_count()
    collections = gc.get_stats()[0]["collections"]
    with gc_paused():
        assert not gc.isenabled()
        made = [[i] for i in range(50_000)]  # far past the youngest generation's threshold
        assert gc.get_stats()[0]["collections"] == collections
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)
    assert gc.get_count()[0] < 100  # the young generation starts empty again
    thaw()
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_made_in_a_step_is_collected_after_thaw() -> None:
    with gc_paused():
        ref = weakref.ref(Node())
    gc.collect()
    assert ref() is not None  # frozen: the collector does not look at it
    thaw()
    gc.collect()
    assert ref() is None


def test_a_paused_collector_stays_paused() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        thaw()
