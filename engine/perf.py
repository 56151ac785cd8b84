"""Keeping the cyclic garbage collector out of the way of bulk work.

A read, a desired state and a plan each build hundreds of thousands of small objects that live
until the run ends and hold no reference cycles. Collecting during such a step only rescans
them again and again (half the time of a large plan), so the step runs with the collector
paused.

Re-enabling it is not the end of the matter: the first allocation afterwards would start a
collection of the youngest generation, which by then holds every object the step made (seconds
at large size). So a step ends by freezing what exists (``gc.freeze``: the objects move out of
the collector's generations in constant time). They are freed by reference counting as usual
when the run drops them; :func:`thaw` at the end of a run hands whatever is left back to the
collector, so a long-running scheduler never keeps cyclic garbage for good.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def thaw() -> None:
    """Return frozen objects to the collector (at the end of a run)."""
    gc.unfreeze()
