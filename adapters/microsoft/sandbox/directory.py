"""``/users`` and ``/groups``: CRUD, ``$ref`` members/owners and bulk ``@odata.bind``
(reference §3.2, §7.1 item 3).

Error wording taken from the reference: duplicate member add, mailNickname collision,
referenced objects missing. Required-property checks on create follow Entra's rules as
remembered [memory for the exact messages].
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from typing import Any

from .errors import (
    DUPLICATE_REFERENCE,
    NICKNAME_TAKEN,
    REFERENCED_MISSING,
    GraphError,
    resource_missing,
)
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
    ref_id,
    visible,
    writable,
)
from .odata import apply_select, parse_select
from .store import Group, User
from .views import filter_view_group, filter_view_user, group_view, user_view

MAX_BINDS = 20
USER_REQUIRED = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "passwordProfile",
    "userPrincipalName",
)
GROUP_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def require(body: dict[str, Any], names: tuple[str, ...], resource: str) -> None:
    """Entra's create-time check of required properties [memory for the wording]."""
    for name in names:
        if body.get(name) in (None, ""):
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Invalid value specified for property '{name}' of resource '{resource}'.",
            )


# users -------------------------------------------------------------------------------------


def find_user(ctx: Ctx, key: str) -> User:
    """A visible user by id or userPrincipalName (Graph accepts both in /users/{key})."""
    user = ctx.store.users.get(key)
    if user is None and "@" in key:
        found = ctx.store.find_users("userPrincipalName", key)
        user = found[0] if found else None
    if user is None or not visible(user, ctx.now):
        raise resource_missing(key)
    return user


def check_upn_free(ctx: Ctx, upn: Any, own_id: str | None = None) -> None:
    if not isinstance(upn, str) or "@" not in upn:
        raise GraphError(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
        )
    if any(u.id != own_id for u in ctx.store.find_users("userPrincipalName", upn)):
        raise GraphError(400, "Request_BadRequest", NICKNAME_TAKEN.format(prop="userPrincipalName"))


def user_props(body: dict[str, Any]) -> dict[str, Any]:
    """Stored properties: no password, no annotations; onPremisesInfo mirrored [memory]."""
    props = writable(body)
    props.pop("passwordProfile", None)
    info = props.pop("onPremisesInfo", None)
    if isinstance(info, dict) and info.get("immutableId") is not None:
        props["onPremisesImmutableId"] = info["immutableId"]
    return props


def create_user(ctx: Ctx, body: dict[str, Any]) -> User:
    require(body, USER_REQUIRED, "User")
    check_upn_free(ctx, body["userPrincipalName"])
    props = user_props(body)
    props.setdefault("createdDateTime", now_iso())
    profile = check_profile(body["passwordProfile"])
    user = ctx.store.add_user(props, ctx.now, ctx.settings.scaled(ctx.settings.propagation_delay_s))
    user.password_salt = os.urandom(16)
    user.password_hash = password_digest(profile["password"], user.password_salt)
    user.force_change = bool(profile.get("forceChangePasswordNextSignIn", False))
    return user


def password_digest(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


def check_profile(profile: Any) -> dict[str, Any]:
    """A passwordProfile with a password. The sandbox keeps a salted hash of it (Graph never
    gives it back) for its sign-in check; forceChangePasswordNextSignIn left out counts as
    false [memory: the resource page names no default]."""
    if not isinstance(profile, dict) or not isinstance(profile.get("password"), str):
        raise GraphError(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'passwordProfile' of resource 'User'.",
        )
    return profile


def patch_user(ctx: Ctx, user: User, body: dict[str, Any]) -> None:
    if "userPrincipalName" in body:
        check_upn_free(ctx, body["userPrincipalName"], user.id)
    profile = check_profile(body["passwordProfile"]) if "passwordProfile" in body else None
    ctx.store.update_user(user, user_props(body))
    if profile is not None:  # an admin's password reset
        user.password_salt = os.urandom(16)
        user.password_hash = password_digest(profile["password"], user.password_salt)
        user.force_change = bool(profile.get("forceChangePasswordNextSignIn", False))


def users_spec(ctx: Ctx) -> CollectionSpec:
    store = ctx.store
    return CollectionSpec(
        "users",
        lambda: store.users.values(),
        user_view,
        filter_view_user,
        store.user_index,
        store.users.get,
    )


def list_users(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    return list_collection(ctx, req, users_spec(ctx))


def post_user(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    user = create_user(ctx, body_object(req))
    return GraphResponse(
        201, {"@odata.context": f"{ctx.graph_url}/$metadata#users/$entity", **user_view(user, None)}
    )


def get_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    user = find_user(ctx, id)
    select = parse_select(req.option("$select"))
    return GraphResponse(
        200,
        {"@odata.context": f"{ctx.graph_url}/$metadata#users/$entity", **user_view(user, select)},
    )


def patch_user_route(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    patch_user(ctx, find_user(ctx, id), body_object(req))
    return GraphResponse(204)


# Every SKU the sandbox tenant "owns"; any GUID-shaped skuId is accepted so that tests and demos
# can configure their own. Real tenants answer an unknown SKU with 400 (wording [memory]).
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def assign_license(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    """POST /users/{id}/assignLicense: needs a usageLocation on the user first, as Entra does."""
    user = find_user(ctx, id)
    body = body_object(req)
    add, remove = body.get("addLicenses"), body.get("removeLicenses")
    if not isinstance(add, list) or not isinstance(remove, list):
        raise GraphError(
            400, "Request_BadRequest", "addLicenses and removeLicenses are both required."
        )
    if not user.props.get("usageLocation"):
        raise GraphError(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
        )
    held = {lic["skuId"]: lic for lic in user.props.get("assignedLicenses", [])}
    for lic in add:
        sku = lic.get("skuId") if isinstance(lic, dict) else None
        if not isinstance(sku, str) or not _GUID.match(sku):
            raise GraphError(
                400,
                "Request_BadRequest",
                f"License {sku} does not correspond to a valid company License.",
            )
        held[sku] = {"skuId": sku, "disabledPlans": list(lic.get("disabledPlans") or [])}
    for sku in remove:
        held.pop(str(sku), None)
    ctx.store.update_user(user, {"assignedLicenses": list(held.values())})
    return GraphResponse(200, user_view(user, None))


def delete_user(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    ctx.store.delete_user(find_user(ctx, id))
    return GraphResponse(204)


def users_delta(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = DeltaSpec("users", lambda: store.users.values(), store.users.get, user_view, "changed")
    return delta_query(ctx, req, spec)


def user_member_of(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    user = find_user(ctx, id)
    store = ctx.store
    spec = CollectionSpec(
        "directoryObjects",
        lambda: store.in_order(
            store.groups[g]
            for g in store.user_groups.get(user.id, ())
            if user.id in store.groups[g].members
        ),
        lambda g, _sel: {"@odata.type": "#microsoft.graph.group", **group_view(g)},
        filter_view_group,
    )
    return list_collection(ctx, req, spec)


# groups ------------------------------------------------------------------------------------


def find_group(ctx: Ctx, gid: str) -> Group:
    group: Group = get_visible(ctx.store.groups, gid, ctx.now)
    return group


def check_nickname_free(ctx: Ctx, nickname: Any, own_id: str | None = None) -> None:
    if not isinstance(nickname, str) or not nickname.strip() or " " in nickname:
        raise GraphError(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'mailNickname' of resource 'Group'.",
        )
    if any(g.id != own_id for g in ctx.store.find_groups("mailNickname", nickname)):
        raise GraphError(400, "Request_BadRequest", NICKNAME_TAKEN.format(prop="mailNickname"))


def resolve_binds(ctx: Ctx, group: Group | None, body: dict[str, Any]) -> list[tuple[str, str]]:
    """Validate ``members@odata.bind`` / ``owners@odata.bind``: all or nothing, at most 20."""
    binds: list[tuple[str, str]] = []
    for rel in ("members", "owners"):
        urls = body.get(f"{rel}@odata.bind")
        if urls is None:
            continue
        if not isinstance(urls, list):
            raise GraphError(400, "BadRequest", f"'{rel}@odata.bind' must be an array of URLs.")
        binds.extend((rel, ref_id(url)) for url in urls)
    if len(binds) > MAX_BINDS:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"The request contains {len(binds)} object references; at most {MAX_BINDS} may be "
            "added in one request.",
        )
    seen: set[tuple[str, str]] = set()
    for rel, uid in binds:
        user = ctx.store.users.get(uid)
        if user is None or not visible(user, ctx.now):
            # Wording from the reference (§2.3, group-post-members beta note).
            raise GraphError(400, "Request_BadRequest", REFERENCED_MISSING)
        if (rel, uid) in seen or (group is not None and uid in group.relation(rel)):
            raise GraphError(400, "Request_BadRequest", DUPLICATE_REFERENCE.format(prop=rel))
        seen.add((rel, uid))
    return binds


def create_group(ctx: Ctx, body: dict[str, Any], edu: dict[str, Any] | None) -> Group:
    check_nickname_free(ctx, body.get("mailNickname"))
    binds = resolve_binds(ctx, None, body)
    props = writable(body)
    props.setdefault("description", None)
    props.setdefault("groupTypes", [])
    props.setdefault("visibility", None)
    props.setdefault(
        "mail", f"{body['mailNickname']}@{ctx.domain}" if props.get("mailEnabled") else None
    )
    props.setdefault("resourceProvisioningOptions", [])
    props.setdefault("creationOptions", [])
    props["createdDateTime"] = now_iso()
    group = ctx.store.add_group(
        props, edu, ctx.now, ctx.settings.scaled(ctx.settings.propagation_delay_s)
    )
    for rel, uid in binds:
        ctx.store.link(group, rel, uid)
    return group


def list_groups(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = CollectionSpec(
        "groups",
        lambda: store.groups.values(),
        lambda g, _s: group_view(g),
        filter_view_group,
        store.group_index,
        store.groups.get,
    )
    return list_collection(ctx, req, spec)


def post_group(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    body = body_object(req)
    require(body, GROUP_REQUIRED, "Group")
    group = create_group(ctx, body, None)
    return GraphResponse(
        201, {"@odata.context": f"{ctx.graph_url}/$metadata#groups/$entity", **group_view(group)}
    )


def get_group(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    group = find_group(ctx, id)
    select = parse_select(req.option("$select"))
    return GraphResponse(
        200,
        {
            "@odata.context": f"{ctx.graph_url}/$metadata#groups/$entity",
            **apply_select(group_view(group), select),
        },
    )


def patch_group(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    group = find_group(ctx, id)
    body = body_object(req)
    binds = resolve_binds(ctx, group, body)
    props = writable(body)
    if "mailNickname" in props:
        check_nickname_free(ctx, props["mailNickname"], group.id)
    if props:
        ctx.store.update_group(group, props)
    for rel, uid in binds:
        ctx.store.link(group, rel, uid)
    return GraphResponse(204)


def delete_group(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
    ctx.store.delete_group(find_group(ctx, id))
    return GraphResponse(204)


def groups_delta(ctx: Ctx, req: GraphRequest) -> GraphResponse:
    store = ctx.store
    spec = DeltaSpec(
        "groups",
        lambda: store.groups.values(),
        store.groups.get,
        lambda g, _s: group_view(g),
        "changed",
        with_relations=True,
    )
    return delta_query(ctx, req, spec)


def relation_users(ctx: Ctx, req: GraphRequest, group: Group, rel: str) -> GraphResponse:
    store = ctx.store
    spec = CollectionSpec(
        "directoryObjects",
        lambda: store.in_order(store.users[u] for u in group.relation(rel) if u in store.users),
        lambda u, sel: {"@odata.type": "#microsoft.graph.user", **user_view(u, sel)},
        filter_view_user,
    )
    return list_collection(ctx, req, spec)


def add_reference(ctx: Ctx, group: Group, rel: str, uid: str, prop: str) -> None:
    """Single ``$ref`` add: 404 for an unknown (or not yet replicated) user, 400 duplicate."""
    user = ctx.store.users.get(uid)
    if user is None or not visible(user, ctx.now):
        raise resource_missing(uid)
    if uid in group.relation(rel):
        raise GraphError(400, "Request_BadRequest", DUPLICATE_REFERENCE.format(prop=prop))
    ctx.store.link(group, rel, uid)


def remove_reference(ctx: Ctx, group: Group, rel: str, uid: str) -> None:
    if uid not in group.relation(rel):
        raise resource_missing(uid)
    ctx.store.unlink(group, rel, uid)


def make_relation_routes(rel: str) -> tuple[Any, Any, Any]:
    def list_rel(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
        return relation_users(ctx, req, find_group(ctx, id), rel)

    def add_rel(ctx: Ctx, req: GraphRequest, id: str) -> GraphResponse:
        group = find_group(ctx, id)
        add_reference(ctx, group, rel, ref_body_id(req), rel)
        return GraphResponse(204)

    def remove_rel(ctx: Ctx, req: GraphRequest, id: str, uid: str) -> GraphResponse:
        remove_reference(ctx, find_group(ctx, id), rel, uid)
        return GraphResponse(204)

    return list_rel, add_rel, remove_rel


def register(router: Router) -> None:
    router.add("GET", "/users", list_users)
    router.add("POST", "/users", post_user)
    router.add("GET", "/users/delta", users_delta)
    router.add("GET", "/users/{id}", get_user)
    router.add("PATCH", "/users/{id}", patch_user_route)
    router.add("DELETE", "/users/{id}", delete_user)
    router.add("POST", "/users/{id}/assignLicense", assign_license)
    router.add("GET", "/users/{id}/memberOf", user_member_of)
    router.add("GET", "/groups", list_groups)
    router.add("POST", "/groups", post_group)
    router.add("GET", "/groups/delta", groups_delta)
    router.add("GET", "/groups/{id}", get_group)
    router.add("PATCH", "/groups/{id}", patch_group)
    router.add("DELETE", "/groups/{id}", delete_group)
    for rel in ("members", "owners"):
        list_rel, add_rel, remove_rel = make_relation_routes(rel)
        router.add("GET", f"/groups/{{id}}/{rel}", list_rel)
        router.add("POST", f"/groups/{{id}}/{rel}/$ref", add_rel)
        router.add("DELETE", f"/groups/{{id}}/{rel}/{{uid}}/$ref", remove_rel)
