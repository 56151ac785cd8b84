"""The ASGI app: the token endpoint, both APIs on one root, the batch paths and the kit's
/_sandbox endpoints. API paths are routed on the raw path (see routing.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp

from adapters.kit.sandbox import Chaos, Inspection, TokenEndpoint

from .classroom import Classroom
from .directory import Directory
from .groups import Groups
from .routing import Route, route
from .service import Answer, Pipeline, RawCall
from .settings import SandboxSettings

BATCH_PATHS = ("/batch", "/batch/classroom/v1", "/batch/admin/directory_v1")
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
AUTH = "https://www.googleapis.com/auth/"
COURSES = [AUTH + "classroom.courses"]
ROSTERS = [AUTH + "classroom.rosters"]
USERS = [AUTH + "admin.directory.user"]
ORGUNITS = [AUTH + "admin.directory.orgunit"]
GROUPS = [AUTH + "admin.directory.group"]
MEMBERS = [AUTH + "admin.directory.group", AUTH + "admin.directory.group.member"]
DIR = "admin/directory/v1"


def api_routes(directory: Directory, classroom: Classroom, groups: Groups) -> list[Route]:
    """Every method the sandbox serves, with its path template from the discovery documents."""
    d, c, g = directory, classroom, groups
    return [
        route("POST", f"{DIR}/groups", g.insert, "directory", GROUPS),
        route("GET", f"{DIR}/groups", g.list, "directory", GROUPS),
        route("GET", f"{DIR}/groups/{{groupKey}}", g.get, "directory", GROUPS),
        route("PATCH", f"{DIR}/groups/{{groupKey}}", g.patch, "directory", GROUPS),
        route("DELETE", f"{DIR}/groups/{{groupKey}}", g.delete, "directory", GROUPS),
        route("POST", f"{DIR}/groups/{{groupKey}}/members", g.insert_member, "directory", MEMBERS),
        route("GET", f"{DIR}/groups/{{groupKey}}/members", g.list_members, "directory", MEMBERS),
        route(
            "DELETE",
            f"{DIR}/groups/{{groupKey}}/members/{{memberKey}}",
            g.delete_member,
            "directory",
            MEMBERS,
        ),
        route("POST", f"{DIR}/users", d.insert_user, "directory", USERS),
        route("GET", f"{DIR}/users", d.list_users, "directory", USERS),
        route("GET", f"{DIR}/users/{{userKey}}", d.get_user, "directory", USERS),
        route("PATCH", f"{DIR}/users/{{userKey}}", d.patch_user, "directory", USERS),
        route("DELETE", f"{DIR}/users/{{userKey}}", d.delete_user, "directory", USERS),
        route(
            "GET", f"{DIR}/customer/{{customerId}}/orgunits", d.list_orgunits, "directory", ORGUNITS
        ),
        route(
            "POST",
            f"{DIR}/customer/{{customerId}}/orgunits",
            d.insert_orgunit,
            "directory",
            ORGUNITS,
        ),
        route(
            "GET",
            f"{DIR}/customer/{{customerId}}/orgunits/{{+orgUnitPath}}",
            d.get_orgunit,
            "directory",
            ORGUNITS,
        ),
        route(
            "DELETE",
            f"{DIR}/customer/{{customerId}}/orgunits/{{+orgUnitPath}}",
            d.delete_orgunit,
            "directory",
            ORGUNITS,
        ),
        route("POST", "v1/courses", c.create_course, "classroom", COURSES),
        route("GET", "v1/courses", c.list_courses, "classroom", COURSES),
        route("GET", "v1/courses/{id}", c.get_course, "classroom", COURSES),
        route("PATCH", "v1/courses/{id}", c.patch_course, "classroom", COURSES),
        route("DELETE", "v1/courses/{id}", c.delete_course, "classroom", COURSES),
        route("POST", "v1/courses/{courseId}/aliases", c.create_alias, "classroom", COURSES),
        route("GET", "v1/courses/{courseId}/aliases", c.list_aliases, "classroom", COURSES),
        route(
            "DELETE", "v1/courses/{courseId}/aliases/{alias}", c.delete_alias, "classroom", COURSES
        ),
        route("POST", "v1/courses/{courseId}/teachers", c.add_teacher, "classroom", ROSTERS),
        route("GET", "v1/courses/{courseId}/teachers", c.list_teachers, "classroom", ROSTERS),
        route(
            "GET", "v1/courses/{courseId}/teachers/{userId}", c.get_teacher, "classroom", ROSTERS
        ),
        route(
            "DELETE",
            "v1/courses/{courseId}/teachers/{userId}",
            c.remove_teacher,
            "classroom",
            ROSTERS,
        ),
        route("POST", "v1/courses/{courseId}/students", c.add_student, "classroom", ROSTERS),
        route("GET", "v1/courses/{courseId}/students", c.list_students, "classroom", ROSTERS),
        route(
            "GET", "v1/courses/{courseId}/students/{userId}", c.get_student, "classroom", ROSTERS
        ),
        route(
            "DELETE",
            "v1/courses/{courseId}/students/{userId}",
            c.remove_student,
            "classroom",
            ROSTERS,
        ),
        route("POST", "v1/invitations", c.create_invitation, "classroom", ROSTERS),
        route("GET", "v1/invitations", c.list_invitations, "classroom", ROSTERS),
        route("DELETE", "v1/invitations/{id}", c.delete_invitation, "classroom", ROSTERS),
    ]


def _response(answer: Answer) -> Response:
    return Response(answer.body, answer.status, answer.headers)


def _target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    path = raw.decode("latin-1").partition("?")[0]
    return path + ("?" + query.decode("latin-1") if query else "")


def build_app(
    pipeline: Pipeline,
    tokens: TokenEndpoint,
    settings: Callable[[], SandboxSettings],
    state: Callable[[], dict[str, Any]],
) -> ASGIApp:
    async def api(request: Request) -> Response:
        target = _target(request)
        body = await request.body()
        auth = request.headers.get("Authorization")
        if request.method == "POST" and request.url.path in BATCH_PATHS:
            content_type = request.headers.get("Content-Type", "")
            return _response(await pipeline.batch(content_type, body, auth))
        return _response(await pipeline.direct(RawCall(request.method, target, auth, body)))

    inspection = Inspection(
        settings=settings,
        state=state,
        stats=lambda: pipeline.stats().to_dict(),
        reset_stats=pipeline.reset_stats,
    )
    app = Starlette(
        routes=[
            StarletteRoute("/token", tokens.handle, methods=["POST"]),
            *inspection.routes(),
            StarletteRoute("/{path:path}", api, methods=METHODS),
        ]
    )
    # latency only: quotas and faults are per call, inside the pipeline
    return Chaos(app, settings, limit=None, faults=lambda path: False)
