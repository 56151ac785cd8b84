"""What a Google answer means for ESS, from its HTTP status and the ``@Code`` prefix of the
message (Classroom) or the ``errors[0].reason`` (Directory).

Four kinds besides success:

- ``RETRY``: not now (429, 5xx, the Directory's rate-limit 403s, a transient NOT_FOUND right
  after a create); send the call again, alone, after its Retry-After;
- ``ADOPT``: what the call wanted is already so (409 ALREADY_EXISTS / ``duplicate``,
  ``@UserAlreadyOwner``); read the object back and carry on;
- ``FIX_DATA``: the data cannot be applied as it is (a full course, a user of a domain
  Classroom does not allow, a suspended account); a finding on the record, not a retry;
- ``TENANT``: the tenant is not set up (Classroom data access off, delegation or a scope
  missing); one clear error naming the Admin console switch, for every call alike.

``NOT_FOUND`` is a plain 404 (not right after a create); anything else is ``FAILED``, a plain
error with Google's message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(Enum):
    OK = "ok"
    RETRY = "retry"
    ADOPT = "adopt"
    FIX_DATA = "fix_data"
    TENANT = "tenant"
    NOT_FOUND = "not_found"
    FAILED = "failed"


ADOPT_CODES = frozenset({"UserAlreadyOwner"})
FIX_DATA_CODES = frozenset(
    {
        "CourseMemberLimitReached",
        "CourseTeacherLimitReached",
        "UserGroupsMembershipLimitReached",
        "UserInIllegalDomain",
        "CannotDirectAddUser",
        "InactiveCourseOwner",
        "IneligibleOwner",
        "UserCannotOwnCourse",
        "CourseTitleCannotContainUrl",
        "CourseNotModifiable",
        "CannotRemoveCourseOwner",
        "CannotRemoveCourseFolderOwner",
        "CannotRemoveCourseOwnerTransferIncomplete",
        "CannotRemoveTeacherWithNoCourseOwner",
        "PendingInvitationExists",
    }
)
RETRY_CODES = frozenset({"OwnershipTransferInProgress"})
RETRY_REASONS = frozenset(
    {"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "backendError"}
)
CLASSROOM_SWITCH = (
    "turn on Admin console > Apps > Google Workspace > Classroom > Data access > "
    "'Users can authorize apps to access their Google Classroom data'"
)
TENANT_HINTS = {
    "ClassroomApiDisabled": CLASSROOM_SWITCH,
    "ClassroomDisabled": "turn Classroom on for the admin's organisational unit in the Admin "
    "console (Apps > Google Workspace > Classroom > Service status)",
    "insufficientPermissions": "add the missing scope to the service account's domain-wide "
    "delegation (Admin console > Security > Access and data control > API controls > "
    "Domain-wide delegation)",
    "unauthorized_client": "the service account's client id is not delegated these scopes: add "
    "them under Admin console > Security > Access and data control > API controls > "
    "Domain-wide delegation",
    "invalid_grant": "the admin subject is not a user of the domain, is suspended, or the "
    "service account key is wrong or revoked; check the admin subjects and the key file",
    "domainCannotUseApis": "API access is off for the domain (Admin console > Security > API "
    "controls)",
}


@dataclass(frozen=True)
class Verdict:
    """One answer classified: its kind, Google's code or reason, and a message for people."""

    kind: Kind
    status: int
    code: str
    message: str

    @property
    def hint(self) -> str:
        """What to do about a tenant-level error ("" otherwise)."""
        return TENANT_HINTS.get(self.code, "") if self.kind is Kind.TENANT else ""

    def describe(self) -> str:
        text = f"Google answered {self.status} {self.code or ''}: {self.message}".replace("  ", " ")
        return f"{text}; {self.hint}" if self.hint else text


def _code(message: str) -> str:
    """The ``@Code`` of a Classroom message ("" when there is none)."""
    if not message.startswith("@"):
        return ""
    return message[1:].split(" ", 1)[0]


def parse_body(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def classify(
    status: int, body: bytes | str | dict[str, Any] | None, *, fresh: bool = False
) -> Verdict:
    """The verdict on one answer. ``fresh``: the object the call names was created moments ago,
    so a NOT_FOUND is the propagation delay, not a verdict."""
    data = body if isinstance(body, dict) else parse_body(body)
    error = data.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        errors = error.get("errors") or []
        reason = (
            str(errors[0].get("reason") or "") if errors and isinstance(errors[0], dict) else ""
        )
        code = _code(message) or reason or str(error.get("status") or "")
    elif isinstance(error, str):  # the OAuth token endpoint
        code = error
        message = str(data.get("error_description") or error)
    else:
        code, message = "", ""
    message = message.removeprefix(f"@{code} ") if code else message
    if "insufficient authentication scopes" in message:
        code = "insufficientPermissions"
    if 200 <= status < 300:
        return Verdict(Kind.OK, status, "", "")
    if code in TENANT_HINTS:
        return Verdict(Kind.TENANT, status, code, message)
    if status == 429 or status >= 500 or code in RETRY_REASONS or code in RETRY_CODES:
        return Verdict(Kind.RETRY, status, code, message)
    if status == 409 or code in ADOPT_CODES:
        return Verdict(Kind.ADOPT, status, code, message)
    if code in FIX_DATA_CODES or (status == 400 and "disabled" in message.lower()):
        return Verdict(Kind.FIX_DATA, status, code, message)
    if status == 404:
        return Verdict(Kind.RETRY if fresh else Kind.NOT_FOUND, status, code, message)
    if status == 401:
        return Verdict(Kind.TENANT, status, "invalid_grant", message)
    return Verdict(Kind.FAILED, status, code, message)
