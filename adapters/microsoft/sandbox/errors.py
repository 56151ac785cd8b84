"""Graph's error object and the exception handlers raise to produce it.

The body follows the reference's §4.7 exactly:
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# Messages the reference gives verbatim (§2.3, §3.2).
DUPLICATE_REFERENCE = (
    "One or more added object references already exist for the following modified properties: "
    "'{prop}'."
)
NICKNAME_TAKEN = "Another object with the same value for property {prop} already exists."
NOT_A_CLASS = (
    "Team with template 'educationClass' can not be provisioned using a group which does not "
    "belong to a class."
)
ALREADY_PROVISIONED = "The group is already provisioned"
# The first sentence is verified (reference §2.3); the rest is the usual tail [memory].
GROUP_NOT_FOUND_FOR_TEAM = (
    "Failed to execute MsGraph backend request GetGroupFromIdS2SRequest. Workload "
    "MsGraph_DirectoryServices. Request Url: https://graph.microsoft.com/v1.0/groups/{id}, "
    "Request Method: GET, Response Status Code: NotFound, ErrorMessage : Resource '{id}' does "
    "not exist or one of its queried reference-property objects are not present."
)
REFERENCED_MISSING = (
    "The source resource object or one of the objects being referenced do not exist."
)


def resource_missing(object_id: str) -> GraphError:
    """The 404 Graph answers for an unknown (or not yet replicated) directory object."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def utc_now_iso() -> str:
    """Graph's innerError date format: seconds, no zone suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class GraphError(Exception):
    """Raised by a handler; the pipeline turns it into Graph's error response."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(code: str, message: str, request_id: str, client_request_id: str) -> dict[str, Any]:
    """Graph's error object (reference §4.7)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": utc_now_iso(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
