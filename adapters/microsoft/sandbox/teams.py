"""Class Teams: ``POST /teams`` with a template, the legacy ``PUT /groups/{id}/team``, the
teamsAsyncOperation, and archiving (reference §2).

``POST /teams`` answers 202 with an empty body, ``Location: /teams('{id}')/operations('{op}')``
and ``Content-Location: /teams('{id}')``; the operation goes notStarted -> inProgress ->
succeeded over ``team_operation_delay_s`` and the team is readable only once it succeeded.
A group not yet replicated (propagation delay) or younger than ``team_min_group_age_s`` gets the
404 the reference describes; a non-class group gets the educationClass template refusal.

[memory] Not in the reference, remembered from Graph: the 409 ``Conflict`` status for "already
provisioned" (only the text is verified), the wording of the missing-owner refusal, archiving
through ``POST /teams/{id}/archive`` / ``unarchive`` (202 + Location, operation type
``archiveTeam`` / ``unarchiveTeam``) with ``isArchived`` read-only on PATCH. The archive flag is
set at once; only the operation's status follows the delay.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .errors import ALREADY_PROVISIONED, GROUP_NOT_FOUND_FOR_TEAM, NOT_A_CLASS, GraphError
from .graph import Ctx, GraphRequest, GraphResponse, Router, body_object, ref_id, visible
from .store import Group, Operation, Team
from .views import operation_view, team_view

_TEMPLATE = re.compile(r"teamsTemplates\(\s*'([^']+)'\s*\)", re.IGNORECASE)
FORBIDDEN_WITH_GROUP = (
    "displayName",
    "description",
    "visibility",
    "specialization",
    "members",
    "members@odata.bind",
)


def _group_for_team(ctx: Ctx, gid: str) -> Group:
    group = ctx.store.groups.get(gid)
    young = group is not None and ctx.now - group.created_at < ctx.settings.scaled(
        ctx.settings.team_min_group_age_s
    )
    if group is None or not visible(group, ctx.now) or young:
        raise GraphError(404, "NotFound", GROUP_NOT_FOUND_FOR_TEAM.format(id=gid))
    if gid in ctx.store.teams:
        raise GraphError(409, "Conflict", f"{ALREADY_PROVISIONED}: a team exists for '{gid}'.")
    return group


def _require_owner(group: Group) -> None:
    if not group.owners:
        raise GraphError(
            400,
            "BadRequest",
            "The group must have at least one owner before a team can be created from it.",
        )


def _start_operation(ctx: Ctx, team: Team, operation_type: str, delay: float) -> GraphResponse:
    operation = Operation(
        ctx.store.new_id(),
        team.id,
        operation_type,
        ctx.now,
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        delay,
    )
    ctx.store.operations[operation.id] = operation
    team.operations.append(operation.id)
    return GraphResponse(
        202,
        None,
        {
            "Location": f"/teams('{team.id}')/operations('{operation.id}')",
            "Content-Location": f"/teams('{team.id}')",
        },
    )


def _mark_team(ctx: Ctx, group: Group) -> None:
    options = list(group.props.get("resourceProvisioningOptions") or [])
    if "Team" not in options:
        ctx.store.update_group(group, {"resourceProvisioningOptions": [*options, "Team"]})


def post_team(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    body = body_object(req)
    template_ref = body.get("template@odata.bind")
    match = _TEMPLATE.search(template_ref) if isinstance(template_ref, str) else None
    if match is None:
        raise GraphError(400, "BadRequest", "'template@odata.bind' must name a teamsTemplate.")
    template = match.group(1)
    if "group@odata.bind" not in body:
        raise GraphError(
            400,
            "BadRequest",
            "Creating a team without 'group@odata.bind' is not emulated by this sandbox.",
        )
    clash = [name for name in FORBIDDEN_WITH_GROUP if name in body]
    if clash:
        raise GraphError(
            400,
            "BadRequest",
            f"Property '{clash[0]}' cannot be set when a team is created from a group; the team "
            "takes it from the group.",
        )
    group = _group_for_team(ctx, ref_id(body["group@odata.bind"]))
    if template.lower() == "educationclass" and not group.is_class:
        raise GraphError(400, "BadRequest", NOT_A_CLASS)
    _require_owner(group)
    settings = {k: v for k, v in body.items() if k.endswith("Settings") and isinstance(v, dict)}
    delay = ctx.settings.scaled(ctx.settings.team_operation_delay_s)
    team = Team(group.id, settings, template, ready_at=ctx.now + delay)
    ctx.store.teams[team.id] = team
    _mark_team(ctx, group)
    return _start_operation(ctx, team, "createTeam", delay)


def put_group_team(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    """Legacy team-from-group: 201 with the team (reference §2.2)."""
    body = req.body if isinstance(req.body, dict) else {}
    group = _group_for_team(ctx, id)
    _require_owner(group)
    settings = {k: v for k, v in body.items() if k.endswith("Settings") and isinstance(v, dict)}
    team = Team(group.id, settings, "standard", ready_at=ctx.now)
    ctx.store.teams[team.id] = team
    _mark_team(ctx, group)
    return GraphResponse(201, team_view(team, group))


def _ready_team(ctx: Ctx, tid: str) -> Team:
    team = ctx.store.teams.get(tid)
    if team is None or ctx.now < team.ready_at:
        raise GraphError(404, "NotFound", f"No team found with Group Id {tid}")
    return team


def get_team(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    team = _ready_team(ctx, id)
    return GraphResponse(200, team_view(team, ctx.store.groups.get(team.id)))


def patch_team(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    team = _ready_team(ctx, id)
    body = body_object(req)
    if "isArchived" in body:
        raise GraphError(
            400,
            "BadRequest",
            "Property 'isArchived' is read-only; use POST /teams/{id}/archive or /unarchive.",
        )
    for key, value in body.items():
        if key.endswith("Settings") and isinstance(value, dict):
            team.props.setdefault(key, {}).update(value)
    return GraphResponse(204)


def _archive_route(archived: bool) -> Any:
    def handler(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
        team = _ready_team(ctx, id)
        team.archived = archived
        kind = "archiveTeam" if archived else "unarchiveTeam"
        return _start_operation(
            ctx, team, kind, ctx.settings.scaled(ctx.settings.team_operation_delay_s)
        )

    return handler


def get_operation(ctx: Ctx, req: GraphRequest, id: str, op: str) -> GraphResponse:
    operation = ctx.store.operations.get(op)
    if operation is None or operation.team_id != id:
        raise GraphError(404, "NotFound", f"Operation '{op}' was not found for team '{id}'.")
    return GraphResponse(200, operation_view(operation, ctx.now))


def get_group_team(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    return get_team(ctx, req, id)


def register(router: Router) -> None:
    router.add("POST", "/teams", post_team)
    router.add("GET", "/teams/{id}", get_team)
    router.add("PATCH", "/teams/{id}", patch_team)
    router.add("POST", "/teams/{id}/archive", _archive_route(True))
    router.add("POST", "/teams/{id}/unarchive", _archive_route(False))
    router.add("GET", "/teams/{id}/operations/{op}", get_operation)
    router.add("PUT", "/groups/{id}/team", put_group_team)
    router.add("GET", "/groups/{id}/team", get_group_team)
