"""``/education/users``, ``/education/classes`` and ``/education/schools`` (reference §1).

Views over the one store: an education user is a user, a class is a Unified group (same id) with
education properties, a school is an administrative unit with users and classes. Teachers added
through ``/teachers/$ref`` become group owners only; whether Graph also makes them members is not
documented, so the sandbox does not (reference §1.3, unverified). Education PATCH answers 200 with
the object and the status of DELETE on ``/teachers/{id}/$ref`` and school references is 204
[memory].
"""

from __future__ import annotations

from typing import Any

from .directory import (
    add_reference,
    check_nickname_free,
    create_group,
    create_user,
    find_user,
    now_iso,
    patch_user,
    remove_reference,
)
from .errors import DUPLICATE_REFERENCE, GraphError, resource_missing
from .graph import (
    CollectionSpec,
    Ctx,
    DeltaSpec,
    GraphRequest,
    GraphResponse,
    Router,
    body_object,
    delta_query,
    get_visible,
    list_collection,
    ref_body_id,
    visible,
    writable,
)
from .odata import apply_select, parse_select
from .store import Group, School
from .views import (
    CLASS_EDU_PROPS,
    CLASS_SHARED_PROPS,
    class_view,
    edu_user_view,
    filter_view_group,
    filter_view_user,
    group_view,
    school_view,
)

EXTERNAL_SOURCES = ("sis", "manual", "unknownFutureValue")
PRIMARY_ROLES = ("student", "teacher", "none", "unknownFutureValue")


def _context(ctx: Ctx, entity_set: str) -> dict[str, Any]:
    return {"@odata.context": f"{ctx.graph_url}/$metadata#education/{entity_set}/$entity"}


def _check_enum(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    value = body.get(name)
    if value is not None and value not in allowed:
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid value '{value}' for property '{name}'; expected one of {', '.join(allowed)}.",
        )


# users -------------------------------------------------------------------------------------


def _edu_user_spec(ctx: Ctx) -> CollectionSpec:
    store = ctx.store
    return CollectionSpec(
        "education/users",
        lambda: store.users.values(),
        lambda u, _s: edu_user_view(u),
        filter_view_user,
        store.user_index,
        store.users.get,
    )


def list_edu_users(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    return list_collection(ctx, req, _edu_user_spec(ctx))


def post_edu_user(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    body = body_object(req)
    _check_enum(body, "primaryRole", PRIMARY_ROLES)
    _check_enum(body, "externalSource", EXTERNAL_SOURCES)
    user = create_user(ctx, body)
    return GraphResponse(201, {**_context(ctx, "users"), **edu_user_view(user)})


def get_edu_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    view = edu_user_view(find_user(ctx, id))
    return GraphResponse(
        200, {**_context(ctx, "users"), **apply_select(view, parse_select(req.option("$select")))}
    )


def patch_edu_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    body = body_object(req)
    _check_enum(body, "primaryRole", PRIMARY_ROLES)
    user = find_user(ctx, id)
    patch_user(ctx, user, body)
    return GraphResponse(200, {**_context(ctx, "users"), **edu_user_view(user)})


def delete_edu_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    ctx.store.delete_user(find_user(ctx, id))
    return GraphResponse(204)


def edu_users_delta(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = DeltaSpec(
        "users",
        lambda: store.users.values(),
        store.users.get,
        lambda u, _s: edu_user_view(u),
        "changed",
    )
    return delta_query(ctx, req, spec)


def _user_classes(ctx: Ctx, req: GraphRequest, id: str, rel: str) -> GraphResponse:
    user = find_user(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "education/classes",
        lambda: store.in_order(
            g
            for g in (store.groups[i] for i in store.user_groups.get(user.id, ()))
            if g.is_class and user.id in g.relation(rel)
        ),
        lambda g, _s: class_view(g),
        filter_view_group,
    )
    return list_collection(ctx, req, spec)


def edu_user_classes(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    return _user_classes(ctx, req, id, "members")


def edu_user_taught(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    return _user_classes(ctx, req, id, "owners")


def edu_user_schools(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    user = find_user(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "education/schools",
        lambda: store.in_order(store.schools[s] for s in store.user_schools.get(user.id, ())),
        lambda s, _sel: school_view(s),
        lambda s: school_view(s),
    )
    return list_collection(ctx, req, spec)


# classes -----------------------------------------------------------------------------------


def find_class(ctx: Ctx, gid: str) -> Group:
    group: Group = get_visible(ctx.store.groups, gid, ctx.now)
    if not group.is_class:
        raise resource_missing(gid)
    return group


def _split_class_body(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    props = writable(body)
    shared = {k: v for k, v in props.items() if k in CLASS_SHARED_PROPS}
    edu = {k: v for k, v in props.items() if k in CLASS_EDU_PROPS}
    unknown = set(props) - set(shared) - set(edu)
    if unknown:
        raise GraphError(
            400,
            "BadRequest",
            f"Property '{sorted(unknown)[0]}' does not exist on type "
            "'microsoft.graph.educationClass'.",
        )
    _check_enum(edu, "externalSource", EXTERNAL_SOURCES)
    if "term" in edu and edu["term"] is not None and not isinstance(edu["term"], dict):
        raise GraphError(400, "BadRequest", "Property 'term' must be an educationTerm object.")
    return shared, edu


def list_classes(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = CollectionSpec(
        "education/classes",
        lambda: (g for g in store.groups.values() if g.is_class),
        lambda g, _s: class_view(g),
        filter_view_group,
        store.group_index,
        lambda i: store.groups[i] if i in store.groups and store.groups[i].is_class else None,
    )
    return list_collection(ctx, req, spec)


def post_class(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    body = body_object(req)
    shared, edu = _split_class_body(body)
    for name in ("displayName", "mailNickname"):
        if not shared.get(name):
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Invalid value specified for property '{name}' of resource 'educationClass'.",
            )
    for name in CLASS_EDU_PROPS:
        edu.setdefault(name, None)
    edu.setdefault("createdBy", {"application": {"id": req.caller.client_id, "displayName": None}})
    group_body = {
        **shared,
        "groupTypes": ["Unified"],
        "mailEnabled": True,
        "securityEnabled": False,
        "visibility": "HiddenMembership",
        # The class flags are not documented in v1.0 [memory].
        "creationOptions": ["classAssignments", "ExchangeProvisioningFlags:461"],
    }
    group = create_group(ctx, group_body, edu)
    return GraphResponse(201, {**_context(ctx, "classes"), **class_view(group)})


def get_class(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    view = class_view(find_class(ctx, id))
    return GraphResponse(
        200, {**_context(ctx, "classes"), **apply_select(view, parse_select(req.option("$select")))}
    )


def patch_class(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    group = find_class(ctx, id)
    shared, edu = _split_class_body(body_object(req))
    if "mailNickname" in shared:
        check_nickname_free(ctx, shared["mailNickname"], group.id)
    ctx.store.update_group(group, shared, edu)
    return GraphResponse(200, {**_context(ctx, "classes"), **class_view(group)})


def delete_class(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    ctx.store.delete_group(find_class(ctx, id))
    return GraphResponse(204)


def classes_delta(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = DeltaSpec(
        "classes",
        lambda: (g for g in store.groups.values() if g.is_class),
        store.groups.get,
        lambda g, _s: class_view(g),
        "changed",
    )
    return delta_query(ctx, req, spec)


def class_group(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    return GraphResponse(200, group_view(find_class(ctx, id)))


def class_schools(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    group = find_class(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "education/schools",
        lambda: store.in_order(store.schools[s] for s in group.schools),
        lambda s, _sel: school_view(s),
        lambda s: school_view(s),
    )
    return list_collection(ctx, req, spec)


def _class_relation_routes(nav: str, rel: str) -> tuple[Any, Any, Any]:
    def list_rel(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
        group = find_class(ctx, id)
        store = ctx.store
        spec = CollectionSpec(
            "education/users",
            lambda: store.in_order(store.users[u] for u in group.relation(rel) if u in store.users),
            lambda u, _s: edu_user_view(u),
            filter_view_user,
        )
        return list_collection(ctx, req, spec)

    def add_rel(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
        group = find_class(ctx, id)
        add_reference(ctx, group, rel, ref_body_id(req), nav)
        return GraphResponse(204)

    def remove_rel(ctx: Ctx, req: GraphRequest, id: str, uid: str) -> GraphResponse:
        remove_reference(ctx, find_class(ctx, id), rel, uid)
        return GraphResponse(204)

    return list_rel, add_rel, remove_rel


# schools -----------------------------------------------------------------------------------

SCHOOL_PROPS = frozenset(
    {
        "displayName",
        "description",
        "externalSource",
        "externalSourceDetail",
        "externalId",
        "externalPrincipalId",
        "schoolNumber",
        "principalEmail",
        "principalName",
        "lowestGrade",
        "highestGrade",
        "phone",
        "fax",
        "address",
        "createdBy",
    }
)


def _school_props(body: dict[str, Any]) -> dict[str, Any]:
    props = writable(body)
    unknown = set(props) - SCHOOL_PROPS
    if unknown:
        raise GraphError(
            400,
            "BadRequest",
            f"Property '{sorted(unknown)[0]}' does not exist on type "
            "'microsoft.graph.educationSchool'.",
        )
    _check_enum(props, "externalSource", EXTERNAL_SOURCES)
    return props


def find_school(ctx: Ctx, sid: str) -> School:
    school: School = get_visible(ctx.store.schools, sid, ctx.now)
    return school


def list_schools(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = CollectionSpec(
        "education/schools",
        lambda: store.schools.values(),
        lambda s, _sel: school_view(s),
        school_view,
        store.school_index,
        store.schools.get,
    )
    return list_collection(ctx, req, spec)


def post_school(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    props = _school_props(body_object(req))
    if not props.get("displayName"):
        raise GraphError(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'displayName' of resource 'educationSchool'.",
        )
    props.setdefault(
        "createdBy", {"application": {"id": req.caller.client_id, "displayName": None}}
    )
    props["createdDateTime"] = now_iso()
    school = ctx.store.add_school(
        props, ctx.now, ctx.settings.scaled(ctx.settings.propagation_delay_s)
    )
    return GraphResponse(201, {**_context(ctx, "schools"), **school_view(school)})


def get_school(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    return GraphResponse(200, {**_context(ctx, "schools"), **school_view(find_school(ctx, id))})


def patch_school(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    school = find_school(ctx, id)
    ctx.store.update_school(school, _school_props(body_object(req)))
    return GraphResponse(200, {**_context(ctx, "schools"), **school_view(school)})


def delete_school(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    ctx.store.delete_school(find_school(ctx, id))
    return GraphResponse(204)


def schools_delta(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = DeltaSpec(
        "schools",
        lambda: store.schools.values(),
        store.schools.get,
        lambda s, _sel: school_view(s),
        "deleted",
    )
    return delta_query(ctx, req, spec)


def school_users(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    school = find_school(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "education/users",
        lambda: store.in_order(store.users[u] for u in school.users if u in store.users),
        lambda u, _s: edu_user_view(u),
        filter_view_user,
    )
    return list_collection(ctx, req, spec)


def school_classes(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    school = find_school(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "education/classes",
        lambda: store.in_order(store.groups[g] for g in school.classes if g in store.groups),
        lambda g, _s: class_view(g),
        filter_view_group,
    )
    return list_collection(ctx, req, spec)


def add_school_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    school = find_school(ctx, id)
    uid = ref_body_id(req)
    user = ctx.store.users.get(uid)
    if user is None or not visible(user, ctx.now):
        raise resource_missing(uid)
    if uid in school.users:
        raise GraphError(400, "Request_BadRequest", DUPLICATE_REFERENCE.format(prop="users"))
    ctx.store.school_link_user(school, uid)
    return GraphResponse(204)


def remove_school_user(ctx: Ctx, req: GraphRequest, id: str, uid: str) -> GraphResponse:
    school = find_school(ctx, id)
    if uid not in school.users:
        raise resource_missing(uid)
    ctx.store.school_unlink_user(school, uid)
    return GraphResponse(204)


def add_school_class(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    school = find_school(ctx, id)
    gid = ref_body_id(req)
    group = ctx.store.groups.get(gid)
    if group is None or not group.is_class or not visible(group, ctx.now):
        raise resource_missing(gid)
    if gid in school.classes:
        raise GraphError(400, "Request_BadRequest", DUPLICATE_REFERENCE.format(prop="classes"))
    ctx.store.school_link_class(school, gid)
    return GraphResponse(204)


def remove_school_class(ctx: Ctx, req: GraphRequest, id: str, cid: str) -> GraphResponse:
    school = find_school(ctx, id)
    if cid not in school.classes:
        raise resource_missing(cid)
    ctx.store.school_unlink_class(school, cid)
    return GraphResponse(204)


def register(router: Router) -> None:
    router.add("GET", "/education/users", list_edu_users)
    router.add("POST", "/education/users", post_edu_user)
    router.add("GET", "/education/users/delta", edu_users_delta)
    router.add("GET", "/education/users/{id}", get_edu_user)
    router.add("PATCH", "/education/users/{id}", patch_edu_user)
    router.add("DELETE", "/education/users/{id}", delete_edu_user)
    router.add("GET", "/education/users/{id}/classes", edu_user_classes)
    router.add("GET", "/education/users/{id}/taughtClasses", edu_user_taught)
    router.add("GET", "/education/users/{id}/schools", edu_user_schools)
    router.add("GET", "/education/classes", list_classes)
    router.add("POST", "/education/classes", post_class)
    router.add("GET", "/education/classes/delta", classes_delta)
    router.add("GET", "/education/classes/{id}", get_class)
    router.add("PATCH", "/education/classes/{id}", patch_class)
    router.add("DELETE", "/education/classes/{id}", delete_class)
    router.add("GET", "/education/classes/{id}/group", class_group)
    router.add("GET", "/education/classes/{id}/schools", class_schools)
    for nav, rel in (("members", "members"), ("teachers", "owners")):
        list_rel, add_rel, remove_rel = _class_relation_routes(nav, rel)
        router.add("GET", f"/education/classes/{{id}}/{nav}", list_rel)
        router.add("POST", f"/education/classes/{{id}}/{nav}/$ref", add_rel)
        router.add("DELETE", f"/education/classes/{{id}}/{nav}/{{uid}}/$ref", remove_rel)
    router.add("GET", "/education/schools", list_schools)
    router.add("POST", "/education/schools", post_school)
    router.add("GET", "/education/schools/delta", schools_delta)
    router.add("GET", "/education/schools/{id}", get_school)
    router.add("PATCH", "/education/schools/{id}", patch_school)
    router.add("DELETE", "/education/schools/{id}", delete_school)
    router.add("GET", "/education/schools/{id}/users", school_users)
    router.add("GET", "/education/schools/{id}/classes", school_classes)
    router.add("POST", "/education/schools/{id}/users/$ref", add_school_user)
    router.add("DELETE", "/education/schools/{id}/users/{uid}/$ref", remove_school_user)
    router.add("POST", "/education/schools/{id}/classes/$ref", add_school_class)
    router.add("DELETE", "/education/schools/{id}/classes/{cid}/$ref", remove_school_class)
