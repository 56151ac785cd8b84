"""Keeping the cyclic garbage collector out of the way of bulk work.

A read, a desired state and a plan each build hundreds of thousands of small objects that live
until the step ends and hold no reference cycles. Collecting during such a step only rescans
them again and again (half the time of a large plan), so the step runs with the collector
paused, and it runs as usual afterwards.
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
        if was_enabled:
            gc.enable()
