"""Which process holds a lease, so that a holder that died on this host is known at once.

A lease records its holder's host, pid and process start time. On the same host, a holder whose
pid is gone, or whose pid now belongs to a process started at another time (a reused pid), is
dead: its lease is taken over without waiting for it to expire. A holder on another host, or
one recorded without these facts (by an older release), can only expire.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache

import psutil

START_TOLERANCE_S = 1.0
"""How far two readings of one process's start time may differ (clock steps, rounding)."""


@dataclass(frozen=True)
class LeaseOwner:
    """A process on a host: its pid and when it started (seconds since the epoch)."""

    host: str
    pid: int
    started: float

    @classmethod
    def this_process(cls) -> LeaseOwner:
        return _this_process(os.getpid())

    def is_gone(self) -> bool:
        """True only when this process is known to have ended: on this host, with its pid free
        or held by a process that started at another time. Any doubt counts as alive."""
        if self.host != socket.gethostname():
            return False
        try:
            proc = psutil.Process(self.pid)
            if proc.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped by its parent
                return True
            return abs(proc.create_time() - self.started) > START_TOLERANCE_S
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:  # access denied and the like: it may well be running
            return False


@cache
def _this_process(pid: int) -> LeaseOwner:
    """Cached per pid: a forked child asks again."""
    return LeaseOwner(socket.gethostname(), pid, psutil.Process(pid).create_time())
