"""Graph's answers, classified: retry, adopt, fix the data, or stop the tenant.

Classification reads the status, Graph's error code and the message, because Graph reuses
``Request_BadRequest`` for very different things (a taken mailNickname, a reference that already
exists, a reference not yet replicated). The messages matched are those the reference lists
(§2.3, §3.2, §4.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"  # throttled, 5xx, timeout, not yet replicated
    EXISTS = "exists"  # the thing is already there: look it up and adopt it, or count it done
    GONE = "gone"  # 404 on a delete or removal: already done
    FAILED = "failed"  # the data is wrong for Graph; fixing the source record fixes it
    FATAL = "fatal"  # auth, consent, permission: nothing for this tenant can succeed


@dataclass(frozen=True)
class GraphResponse:
    """One answer (top-level or inside a $batch), decoded."""

    status: int
    body: Any = None
    headers: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str:
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return str(err.get("code", "")) if isinstance(err, dict) else ""

    @property
    def error_message(self) -> str:
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return str(err.get("message", "")) if isinstance(err, dict) else ""

    def header(self, name: str) -> str | None:
        if not self.headers:
            return None
        lname = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lname:
                return str(v)
        return None

    @property
    def retry_after(self) -> float | None:
        value = self.header("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return None


@dataclass(frozen=True)
class Classified:
    verdict: Verdict
    reason: str  # a short code for the journal: throttled, server_error, not_visible, conflict...
    message: str  # for a support engineer; never a secret
    retry_after: float | None = None
    conflict_property: str | None = None  # for "same value for property X already exists"


ALREADY_MEMBER = "added object references already exist"
SAME_VALUE = "another object with the same value for property"
ALREADY_PROVISIONED = "already provisioned"
NOT_A_CLASS = "does not belong to a class"
REFERENCED_MISSING = ("do not exist", "does not exist", "not present")
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Which answers leave a write in doubt, and which methods are safe to send twice, are the
# kit's (adapters/kit/outcomes.py): a Graph POST creates (a school, a user, a class, a team) or
# adds a reference, and sent twice it may make two objects.


def permission_for(method: str, url: str) -> str:
    """Which application permission a refused request needs (reference §5.3)."""
    path = url.split("?", 1)[0]
    if "/v1.0/" in path:
        path = path.split("/v1.0/", 1)[1]
    parts = [p for p in path.strip("/").split("/") if p]
    head = parts[0].split("(")[0].lower() if parts else ""
    if head == "education":
        return "EduRoster.ReadWrite.All"
    if head == "teams":
        return (
            "Team.Create"
            if method == "POST" and len(parts) == 1
            else ("TeamSettings.ReadWrite.All")
        )
    if head == "users":
        return "User.ReadWrite.All"
    if head == "groups":
        return "Group.ReadWrite.All"
    return "Directory.ReadWrite.All"


def classify(resp: GraphResponse, method: str, url: str, *, fresh: bool = False) -> Classified:
    """Turn one Graph answer into a verdict.

    ``fresh`` says the request touches objects this run (or a recent one) created, so a 404
    means "not replicated yet" and is retried rather than believed.
    """
    status, code, text = resp.status, resp.error_code, resp.error_message
    low = text.lower()
    if resp.ok:
        return Classified(Verdict.OK, "ok", "")
    if status == 429:
        return Classified(
            Verdict.RETRY, "throttled", "Graph throttled the request", resp.retry_after
        )
    if status in RETRYABLE_STATUS:
        return Classified(
            Verdict.RETRY,
            "server_error",
            f"Graph answered {status} {code}".strip(),
            resp.retry_after,
        )
    if status == 401:
        return Classified(
            Verdict.FATAL,
            "auth",
            "Graph refused the access token (401 "
            f"{code or 'Unauthorized'}): check tenant_id, client_id and the credential",
        )
    if status == 403 or code in ("Authorization_RequestDenied", "Forbidden", "AccessDenied"):
        permission = permission_for(method, url)
        return Classified(
            Verdict.FATAL,
            "permission",
            f"Graph refused {method} {url.split('?', 1)[0]} (403 {code}): grant the application "
            f"permission {permission} to the app registration and give admin consent",
        )
    if ALREADY_MEMBER in low or ALREADY_PROVISIONED in low:
        return Classified(Verdict.EXISTS, "exists", text)
    if SAME_VALUE in low or status == 409:
        prop = None
        marker = "for property "
        if marker in low:
            prop = text[low.index(marker) + len(marker) :].split()[0].strip(".'\"")
        return Classified(Verdict.EXISTS, "conflict", text, conflict_property=prop)
    if status == 424:
        return Classified(Verdict.RETRY, "dependency", "a request it depends on failed")
    if status == 404:
        if method == "DELETE" and not fresh:
            return Classified(Verdict.GONE, "gone", text)
        return Classified(Verdict.RETRY, "not_visible", text or "not found yet")
    if NOT_A_CLASS in low or any(m in low for m in REFERENCED_MISSING):
        return Classified(Verdict.RETRY, "not_visible", text)
    if status == 400 and code == "Request_UnsupportedQuery":
        return Classified(Verdict.FATAL, "unsupported_query", f"Graph refused a query: {text}")
    return Classified(
        Verdict.FAILED, "rejected", f"Graph refused the data ({status} {code}): {text}"
    )
