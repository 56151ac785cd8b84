"""What a sandbox reports about itself: how a client reaches it (one JSON line), and the
counters behind its stats (``GET /_sandbox/stats``), with the ones every sandbox keeps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

Stats = TypeVar("Stats")


class JsonLineInfo:
    """Mixin for a sandbox's frozen info dataclass: ``to_json`` gives one line, every field."""

    def to_json(self) -> str:
        """One JSON line with every field."""
        return orjson.dumps(dataclasses.asdict(self)).decode()  # type: ignore[call-overload]


class StatusCounts:
    """Mixin for a sandbox's frozen stats dataclass with a ``by_status`` field."""

    by_status: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (status keys as strings, in order)."""
        out: dict[str, Any] = dataclasses.asdict(self)  # type: ignore[call-overload]
        out["by_status"] = {str(k): v for k, v in sorted(self.by_status.items())}
        return out


@dataclass
class KitCounters:
    """The mutable counters every served API keeps: batch requests, 429s sent, requests sent
    after a 429 before its Retry-After had elapsed, injected faults, and statuses sent."""

    batch_requests: int = 0
    throttled: int = 0
    early_retries: int = 0
    faults_injected: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def count_status(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def snapshot(self, stats: type[Stats]) -> Stats:
        """The counters as they are now, as ``stats`` (a dataclass with the same fields)."""
        return stats(**dataclasses.asdict(self))
