"""Named crash points for the crash-safety tests.

``ESS_CRASH_AT=after_mark:3`` kills the process with SIGKILL the third time the executor
passes the point ``after_mark``. Unset (always, in production) it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get("ESS_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
