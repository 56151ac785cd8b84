"""Google Classroom API v1: courses, aliases, teachers and students.

The rules ESS meets: a course created with ``id: "d:…"`` gets that alias, and a second create
with the same alias is 409 ALREADY_EXISTS (no duplicate after a lost answer); ``patch`` needs an
``updateMask`` of writable fields; an ARCHIVED course refuses every change but its state
(``@CourseNotModifiable``) and only an ARCHIVED course can be deleted; the owner is a teacher
and cannot be removed; a new owner must already teach the course (``@IneligibleOwner``) and
naming the owner again is ``@UserAlreadyOwner``; a user is a teacher or a student, never both
(409); the member and teacher limits; ``@InactiveCourseOwner`` while the owner is suspended; the
direct-add rule (``@CannotDirectAddUser`` unless the user and the owner are in the admin's
domain); and a user created moments ago may still be NOT_FOUND (``new_user_not_found_s``).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .directory import Directory
from .errors import ApiError, already_exists, failed_precondition, invalid, not_found
from .routing import Call
from .settings import SandboxSettings

PATCHABLE = frozenset(
    {
        "courseState",
        "description",
        "descriptionHeading",
        "name",
        "ownerId",
        "room",
        "section",
        "subject",
    }
)
CREATABLE = PATCHABLE | {"id"}
STATES = ("PROVISIONED", "ACTIVE", "ARCHIVED", "DECLINED")
MOVES = {
    "PROVISIONED": {"ACTIVE", "DECLINED", "ARCHIVED"},
    "ACTIVE": {"ARCHIVED"},
    "ARCHIVED": {"ACTIVE"},
    "DECLINED": {"PROVISIONED"},
}
ROSTER_PAGE_DEFAULT = 30
COURSE_PAGE_DEFAULT = 500
PAGE_MAX = 1000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Course:
    body: dict[str, Any]
    aliases: list[str] = field(default_factory=list)
    teachers: list[str] = field(default_factory=list)  # user ids, in the order added
    students: list[str] = field(default_factory=list)


class Classroom:
    """Courses and rosters over the Directory's users."""

    def __init__(self, directory: Directory, settings: Callable[[], SandboxSettings]) -> None:
        self.directory = directory
        self._settings = settings
        self._ids = itertools.count(700000000001)
        self.courses: dict[str, Course] = {}
        self.aliases: dict[str, str] = {}  # alias -> course id
        self.external: dict[str, dict[str, Any]] = {}  # Google accounts of other domains
        self.invitations: dict[str, dict[str, Any]] = {}
        self._invitation_ids = itertools.count(900000000001)

    def add_external_user(self, email: str, given: str, family: str) -> dict[str, Any]:
        """A Google account outside the admin's domain (it can be invited, not added)."""
        uid = str(200000000000000000000 + len(self.external) + 1)
        name = {"givenName": given, "familyName": family, "fullName": f"{given} {family}"}
        user = {"id": uid, "primaryEmail": email, "name": name, "suspended": False}
        self.external[uid] = user
        return user

    def _any_user(self, key: str) -> dict[str, Any] | None:
        user = self.directory.user(key)
        if user is not None:
            return user
        for candidate in self.external.values():
            if key in (candidate["id"], candidate["primaryEmail"]):
                return candidate
        return None

    # -- lookups ----------------------------------------------------------------------------

    def _course(self, key: str) -> Course:
        cid = self.aliases.get(key, key)
        course = self.courses.get(cid)
        if course is None:
            raise not_found()
        return course

    def _user(self, key: str, subject: str) -> dict[str, Any]:
        user = self._any_user(subject if key == "me" else key)
        if user is None:
            raise not_found()
        born = self.directory.created_at.get(user["id"], 0.0)
        settings = self._settings()
        if time.monotonic() - born < settings.scaled(settings.new_user_not_found_s):
            raise not_found()  # Classroom has not heard of the new account yet
        return user

    def _profile(self, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": user["id"],
            "name": {
                "givenName": user["name"]["givenName"],
                "familyName": user["name"]["familyName"],
                "fullName": user["name"]["fullName"],
            },
            "emailAddress": user["primaryEmail"],
        }

    def _owner_active(self, course: Course) -> None:
        owner = self.directory.users.get(course.body["ownerId"])
        if owner is None or owner.get("suspended"):
            raise failed_precondition("InactiveCourseOwner", "The course owner is inactive.")

    def _direct_add(self, course: Course, user: dict[str, Any], subject: str) -> None:
        owner = self._any_user(course.body["ownerId"])
        domain = subject.rpartition("@")[2].lower()
        same = user["primaryEmail"].lower().endswith("@" + domain) and (
            owner is not None and owner["primaryEmail"].lower().endswith("@" + domain)
        )
        if not same:
            raise ApiError(
                403, "@CannotDirectAddUser The user cannot be added directly.", "PERMISSION_DENIED"
            )

    # -- courses ----------------------------------------------------------------------------

    def create_course(self, call: Call) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        unknown = sorted(set(body) - CREATABLE)
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {unknown[0]!r}")
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 750:
            raise invalid("name: must be 1 to 750 characters")
        if not body.get("ownerId"):
            raise invalid("ownerId: required")
        alias = str(body.get("id") or "")
        if alias and not alias.startswith(("d:", "p:")):
            raise invalid("id: must be an alias (d:… or p:…)")
        if len(alias) > 256:
            raise invalid("id: an alias is at most 256 characters")
        state = str(body.get("courseState") or "PROVISIONED")
        if state not in ("PROVISIONED", "ACTIVE"):
            raise invalid(f"courseState: cannot create a course {state}")
        owner = self._user(str(body["ownerId"]), call.subject)
        if owner.get("suspended"):
            raise failed_precondition("InactiveCourseOwner", "The course owner is inactive.")
        if alias and alias in self.aliases:
            raise already_exists()
        cid = str(next(self._ids))
        now = _now()
        course: dict[str, Any] = {
            "id": cid,
            "name": name,
            "ownerId": owner["id"],
            "creationTime": now,
            "updateTime": now,
            "enrollmentCode": f"e{cid[-6:]}",
            "courseState": state,
            "alternateLink": f"https://classroom.google.com/c/{cid}",
            "guardiansEnabled": False,
        }
        for key in ("section", "description", "descriptionHeading", "room", "subject"):
            if key in body:
                course[key] = body[key]
        entry = Course(course, [alias] if alias else [], [owner["id"]])
        self.courses[cid] = entry
        if alias:
            self.aliases[alias] = cid
        return 200, copy.deepcopy(course)

    def get_course(self, call: Call) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._course(call.params["id"]).body)

    def list_courses(self, call: Call) -> tuple[int, Any]:
        q = call.query
        states = set(q.get("courseStates", []))
        teacher = (q.get("teacherId") or [""])[0]
        student = (q.get("studentId") or [""])[0]
        chosen = list(reversed(self.courses.values()))  # newest first
        if states:
            chosen = [c for c in chosen if c.body["courseState"] in states]
        if teacher:
            tid = self._user(teacher, call.subject)["id"]
            chosen = [c for c in chosen if tid in c.teachers]
        if student:
            sid = self._user(student, call.subject)["id"]
            chosen = [c for c in chosen if sid in c.students]
        page, token = _page(q, [c.body for c in chosen], COURSE_PAGE_DEFAULT)
        out: dict[str, Any] = {"courses": copy.deepcopy(page)} if page else {}
        if token:
            out["nextPageToken"] = token
        return 200, out

    def patch_course(self, call: Call) -> tuple[int, Any]:
        course = self._course(call.params["id"])
        mask = [m for m in ",".join(call.query.get("updateMask", [])).split(",") if m]
        if not mask:
            raise invalid("updateMask: required")
        bad = [m for m in mask if m not in PATCHABLE]
        if bad:
            raise invalid(f"updateMask: {bad[0]} is not a valid field")
        body = call.body if isinstance(call.body, dict) else {}
        state = course.body["courseState"]
        new_state = str(body.get("courseState", state)) if "courseState" in mask else state
        if state == "ARCHIVED" and new_state == "ARCHIVED":
            raise failed_precondition("CourseNotModifiable", "The course is not modifiable.")
        if new_state != state and new_state not in MOVES[state]:
            raise ApiError(400, "Precondition check failed.", "FAILED_PRECONDITION")
        if "name" in mask and not 1 <= len(str(body.get("name") or "")) <= 750:
            raise invalid("name: must be 1 to 750 characters")
        if "ownerId" in mask:
            new_owner = self._user(str(body.get("ownerId") or ""), call.subject)
            if new_owner["id"] == course.body["ownerId"]:
                raise failed_precondition(
                    "UserAlreadyOwner",
                    "Cannot transfer course to the user who is already the owner",
                )
            if new_owner["id"] not in course.teachers:
                raise failed_precondition(
                    "IneligibleOwner", "Only a co-teacher can be invited as owner of the course"
                )
            course.body["ownerId"] = new_owner["id"]
        for key in mask:
            if key != "ownerId":
                course.body[key] = body.get(key)
        course.body["updateTime"] = _now()
        return 200, copy.deepcopy(course.body)

    def delete_course(self, call: Call) -> tuple[int, Any]:
        course = self._course(call.params["id"])
        if course.body["courseState"] != "ARCHIVED":
            raise ApiError(400, "Precondition check failed.", "FAILED_PRECONDITION")
        del self.courses[course.body["id"]]
        for alias in course.aliases:
            self.aliases.pop(alias, None)
        return 200, {}

    # -- aliases ----------------------------------------------------------------------------

    def create_alias(self, call: Call) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        alias = str((call.body or {}).get("alias") or "")
        if not alias.startswith(("d:", "p:")) or len(alias) > 256:
            raise invalid("alias: must be d:… or p:…, at most 256 characters")
        if alias in self.aliases:
            raise already_exists()
        self.aliases[alias] = course.body["id"]
        course.aliases.append(alias)
        return 200, {"alias": alias}

    def list_aliases(self, call: Call) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        page, token = _page(call.query, [{"alias": a} for a in course.aliases], PAGE_MAX)
        out: dict[str, Any] = {"aliases": page} if page else {}
        if token:
            out["nextPageToken"] = token
        return 200, out

    def delete_alias(self, call: Call) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        alias = call.params["alias"]
        if alias not in course.aliases:
            raise not_found()
        course.aliases.remove(alias)
        del self.aliases[alias]
        return 200, {}

    # -- rosters ----------------------------------------------------------------------------

    def _add(self, call: Call, role: str) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        key = str((call.body or {}).get("userId") or "")
        if not key:
            raise invalid("userId: required")
        user = self._user(key, call.subject)
        if course.body["courseState"] == "ARCHIVED":
            raise failed_precondition("CourseNotModifiable", "The course is not modifiable.")
        self._owner_active(course)
        self._direct_add(course, user, call.subject)
        if user.get("suspended"):
            raise ApiError(400, "The user account is disabled.", "FAILED_PRECONDITION")
        if user["id"] in course.teachers or user["id"] in course.students:
            raise already_exists()
        settings = self._settings()
        if len(course.teachers) + len(course.students) >= settings.course_member_limit:
            raise failed_precondition(
                "CourseMemberLimitReached", "The course member limit has been reached."
            )
        if role == "teacher":
            if len(course.teachers) >= settings.course_teacher_limit:
                raise failed_precondition(
                    "CourseTeacherLimitReached", "The course teacher limit has been reached."
                )
            course.teachers.append(user["id"])
        else:
            course.students.append(user["id"])
        return 200, self._member(course, user)

    def _member(self, course: Course, user: dict[str, Any]) -> dict[str, Any]:
        return {"courseId": course.body["id"], "userId": user["id"], "profile": self._profile(user)}

    def _members(self, call: Call, role: str) -> list[str]:
        course = self._course(call.params["courseId"])
        return course.teachers if role == "teacher" else course.students

    def _get(self, call: Call, role: str) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        user = self._any_user(call.params["userId"])
        if user is None or user["id"] not in self._members(call, role):
            raise not_found()
        return 200, self._member(course, user)

    def _list(self, call: Call, role: str) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        users = [self._any_user(u) or {} for u in self._members(call, role)]
        items = [self._member(course, u) for u in users]
        page, token = _page(call.query, items, ROSTER_PAGE_DEFAULT)
        name = "teachers" if role == "teacher" else "students"
        out: dict[str, Any] = {name: page} if page else {}
        if token:
            out["nextPageToken"] = token
        return 200, out

    def _remove(self, call: Call, role: str) -> tuple[int, Any]:
        course = self._course(call.params["courseId"])
        user = self._any_user(call.params["userId"])
        members = self._members(call, role)
        if user is None or user["id"] not in members:
            raise not_found()
        if role == "teacher" and user["id"] == course.body["ownerId"]:
            raise failed_precondition(
                "CannotRemoveCourseOwner", "The course owner cannot be removed."
            )
        if course.body["courseState"] == "ARCHIVED":
            raise failed_precondition("CourseNotModifiable", "The course is not modifiable.")
        members.remove(user["id"])
        return 200, {}

    def add_teacher(self, call: Call) -> tuple[int, Any]:
        return self._add(call, "teacher")

    def add_student(self, call: Call) -> tuple[int, Any]:
        return self._add(call, "student")

    def get_teacher(self, call: Call) -> tuple[int, Any]:
        return self._get(call, "teacher")

    def get_student(self, call: Call) -> tuple[int, Any]:
        return self._get(call, "student")

    def list_teachers(self, call: Call) -> tuple[int, Any]:
        return self._list(call, "teacher")

    def list_students(self, call: Call) -> tuple[int, Any]:
        return self._list(call, "student")

    def remove_teacher(self, call: Call) -> tuple[int, Any]:
        return self._remove(call, "teacher")

    def remove_student(self, call: Call) -> tuple[int, Any]:
        return self._remove(call, "student")

    # -- invitations ------------------------------------------------------------------------

    def create_invitation(self, call: Call) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        role = str(body.get("role") or "")
        if role not in ("STUDENT", "TEACHER", "OWNER"):
            raise invalid("role: must be STUDENT, TEACHER or OWNER")
        course = self._course(str(body.get("courseId") or ""))
        user = self._user(str(body.get("userId") or ""), call.subject)
        if course.body["courseState"] == "ARCHIVED":
            raise failed_precondition("CourseNotModifiable", "The course is not modifiable.")
        if user.get("suspended"):
            raise ApiError(400, "The user account is disabled.", "FAILED_PRECONDITION")
        if user["id"] in course.teachers or (role == "STUDENT" and user["id"] in course.students):
            raise ApiError(
                400, "The user already has this role or a higher one.", "FAILED_PRECONDITION"
            )
        cid = course.body["id"]
        if any(
            i["userId"] == user["id"] and i["courseId"] == cid for i in self.invitations.values()
        ):
            raise already_exists()
        iid = str(next(self._invitation_ids))
        invitation = {"id": iid, "userId": user["id"], "courseId": cid, "role": role}
        self.invitations[iid] = invitation
        return 200, dict(invitation)

    def list_invitations(self, call: Call) -> tuple[int, Any]:
        course = (call.query.get("courseId") or [""])[0]
        user = (call.query.get("userId") or [""])[0]
        if not course and not user:
            raise invalid("Either userId or courseId must be specified.")
        cid = self._course(course).body["id"] if course else ""
        uid = self._user(user, call.subject)["id"] if user else ""
        chosen = [
            dict(i)
            for i in self.invitations.values()
            if (not cid or i["courseId"] == cid) and (not uid or i["userId"] == uid)
        ]
        page, token = _page(call.query, chosen, PAGE_MAX)
        out: dict[str, Any] = {"invitations": page} if page else {}
        if token:
            out["nextPageToken"] = token
        return 200, out

    def delete_invitation(self, call: Call) -> tuple[int, Any]:
        if self.invitations.pop(call.params["id"], None) is None:
            raise not_found()
        return 200, {}

    def state(self) -> dict[str, Any]:
        def email(uid: str) -> str:
            user = self._any_user(uid)
            return str(user["primaryEmail"]) if user else uid

        return {
            "invitations": [
                {**i, "userEmail": email(i["userId"])} for i in self.invitations.values()
            ],
            "courses": [
                {
                    **c.body,
                    "ownerEmail": email(c.body["ownerId"]),
                    "aliases": list(c.aliases),
                    "teachers": [email(u) for u in c.teachers],
                    "students": [email(u) for u in c.students],
                }
                for c in self.courses.values()
            ],
        }


def _page(
    query: dict[str, list[str]], items: list[dict[str, Any]], default: int
) -> tuple[list[dict[str, Any]], str]:
    """One page of ``items`` and the next token ("" on the last page); ``pageSize=0`` is the
    server's default, as GAM sends it."""
    size = int((query.get("pageSize") or ["0"])[0] or 0) or default
    if size < 0:
        raise invalid("pageSize: must not be negative")
    size = min(size, PAGE_MAX)
    start = int((query.get("pageToken") or ["0"])[0] or 0)
    page = items[start : start + size]
    return page, str(start + size) if start + size < len(items) else ""
