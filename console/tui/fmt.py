"""Turning view records into short, coloured cell text; ages are relative to an injected clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from engine.views import ElevationView, HeldPlanView, OperationView, RunSummary

Clock = Callable[[], datetime]
"""Where "now" comes from: wall-clock in use, a fixed instant in snapshot tests."""


def system_clock() -> datetime:
    return datetime.now(UTC)


# A calm palette: muted blue-greys with clear status colours (kept in step with theme.py).
OK = "#8fbf7f"
WARN = "#e0b860"
BAD = "#e06c75"
HELD = "#c792ea"
RUNNING = "#61afef"
DIM = "#7f8a99"

STATUS_COLOURS: dict[str, str] = {
    "ok": OK,
    "succeeded": OK,
    "done": OK,
    "active": OK,
    "warning": WARN,
    "partial": WARN,
    "blocked": WARN,
    "pending_approval": WARN,
    "skipped": DIM,
    "failing": BAD,
    "failed": BAD,
    "dead": BAD,
    "error": BAD,
    "held": HELD,
    "rejected": DIM,
    "cancelled": DIM,
    "running": RUNNING,
    "in_flight": RUNNING,
    "pending": RUNNING,
    "never_run": DIM,
    "expired": DIM,
    "revoked": DIM,
}

PROBLEM_STATUSES = frozenset({"failed", "dead", "blocked"})
"""Operation statuses a support engineer can retry or skip."""


def status(value: str) -> Text:
    """A status word in its colour; unknown words stay plain."""
    colour = STATUS_COLOURS.get(value)
    return Text(value.replace("_", " "), style=colour or "")


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age(moment: datetime | None, now: datetime) -> str:
    """'4m ago' / 'in 2h' / '-': coarse on purpose, so a table does not twitch."""
    if moment is None:
        return "-"
    seconds = (_as_utc(now) - _as_utc(moment)).total_seconds()
    text = span(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def span(seconds: float) -> str:
    """A length of time in its two largest units: '45s', '3m 12s', '2h 5m', '3d 4h'."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s}s" if s else f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m}m" if m else f"{h}h"
    d, h = divmod(h, 24)
    return f"{d}d {h}h" if h else f"{d}d"


def duration(run: RunSummary, now: datetime) -> str:
    if run.duration_s is not None:
        return span(run.duration_s)
    return span((_as_utc(now) - _as_utc(run.started_at)).total_seconds()) + "…"


def counts(values: Mapping[str, int], keys: tuple[str, ...] | None = None) -> str:
    """'done 40 failed 3': zero counts left out, in a stable order."""
    order = keys or tuple(values)
    parts = [f"{k} {values[k]}" for k in order if values.get(k)]
    return " ".join(parts) or "-"


def _local(moment: datetime) -> datetime:
    """The moment in this machine's time zone, as the command line shows times."""
    return _as_utc(moment).astimezone()


def clock_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return _local(moment).strftime("%Y-%m-%d %H:%M")


def clock_seconds(moment: datetime) -> str:
    """Time of day with seconds, for log lines."""
    return _local(moment).strftime("%H:%M:%S")


def elevation(ev: ElevationView | None, now: datetime) -> Text:
    """An elevation as the tenants table shows it: active and until when, or awaiting approval."""
    if ev is None or ev.status in ("expired", "revoked"):
        return Text("-", style=DIM)
    if ev.status == "active":
        return Text(f"active, ends {age(ev.expires_at, now)}", style=OK)
    return Text("awaiting approval", style=WARN)


def removals(plan: HeldPlanView) -> str:
    """What a held plan would remove: 'delete user 120, suspend user 3'."""
    items = sorted(plan.would_remove.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{what} {n}" for what, n in items) or "-"


def pretty(data: Mapping[str, Any] | None) -> Text:
    """A record as indented JSON for a detail pane (already redacted by the engine).

    Returned as Text so that brackets in the data are shown, never read as markup.
    """
    if data is None:
        return Text("(none)", style=DIM)
    return Text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str))


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def cause(o: OperationView) -> tuple[str, str, str, str, str]:
    """What failures are grouped by: target, action, kind, status and reason."""
    return (o.target, o.action, o.kind, o.status, o.reason or "-")
