"""Error bodies as each Google API writes them.

Classroom writes ``{"error": {"code", "message": "@Code text", "status"}}``; the Directory writes
the older shape with ``errors: [{"domain", "reason", "message"}]``. A handler raises
:class:`ApiError` and the pipeline renders it for the API the call went to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["classroom", "directory", "none"]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
DIRECTORY_REASONS = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "duplicate",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "backendError",
    503: "backendError",
    504: "backendError",
}


@dataclass
class ApiError(Exception):
    """One error answer: HTTP status, message (Classroom's carries ``@Code``), and optionally
    Classroom's status name or the Directory's reason when they are not the default."""

    code: int
    message: str
    status: str = ""
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, api: Api) -> dict[str, Any]:
        status = self.status or STATUS_NAMES.get(self.code, "UNKNOWN")
        if api == "directory":
            reason = self.reason or DIRECTORY_REASONS.get(self.code, "unknown")
            return {
                "error": {
                    "code": self.code,
                    "message": self.message,
                    "errors": [{"message": self.message, "domain": "global", "reason": reason}],
                }
            }
        return {"error": {"code": self.code, "message": self.message, "status": status}}


def failed_precondition(code: str, text: str) -> ApiError:
    """Classroom's 400 FAILED_PRECONDITION with an ``@Code`` message."""
    return ApiError(400, f"@{code} {text}", "FAILED_PRECONDITION")


def not_found(text: str = "Requested entity was not found.") -> ApiError:
    return ApiError(404, text, "NOT_FOUND")


def already_exists(text: str = "Requested entity already exists") -> ApiError:
    return ApiError(409, text, "ALREADY_EXISTS")


def invalid(text: str) -> ApiError:
    return ApiError(400, text, "INVALID_ARGUMENT", "invalid")
