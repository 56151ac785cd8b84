"""/users and /groups: CRUD, $filter via indexes, $select, paging, $ref and bulk binds."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox

DUPLICATE = (
    "One or more added object references already exist for the following modified properties: "
    "'members'."
)
NICKNAME = "Another object with the same value for property mailNickname already exists."


def ref(kind: str, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/{kind}/{object_id}"}


def bind(*ids: str) -> list[str]:
    return [f"https://graph.microsoft.com/v1.0/directoryObjects/{i}" for i in ids]


async def new_group(graph: httpx.AsyncClient, nickname: str, **extra: Any) -> dict[str, Any]:
    response = await graph.post(
        "groups",
        json={
            "displayName": nickname.upper(),
            "mailNickname": nickname,
            "mailEnabled": False,
            "securityEnabled": True,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_user_lifecycle_with_select_and_account_enabled(
    graph: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user(employeeId="E-1")
    assert "employeeId" not in user  # not in Graph's default property set
    fetched = (
        await graph.get(f"users/{user['id']}", params={"$select": "id,accountEnabled,employeeId"})
    ).json()
    assert fetched["accountEnabled"] is True
    assert fetched["employeeId"] == "E-1"
    assert "displayName" not in fetched
    patched = await graph.patch(f"users/{user['id']}", json={"accountEnabled": False})
    assert patched.status_code == 204
    fetched = (await graph.get(f"users/{user['id']}", params={"$select": "accountEnabled"})).json()
    assert fetched["accountEnabled"] is False
    by_upn = await graph.get(f"users/{user['userPrincipalName']}")
    assert by_upn.json()["id"] == user["id"]
    assert (await graph.delete(f"users/{user['id']}")).status_code == 204
    gone = await graph.get(f"users/{user['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "Request_ResourceNotFound"


async def test_user_create_refuses_duplicates_and_missing_fields(
    graph: httpx.AsyncClient, make_user: Any
) -> None:
    user = await make_user()
    again = await graph.post(
        "users",
        json={
            "accountEnabled": True,
            "displayName": "X",
            "mailNickname": "x",
            "userPrincipalName": user["userPrincipalName"].upper(),
            "passwordProfile": {"password": "Sandbox-Pass-1"},
        },
    )
    assert again.status_code == 400
    assert "userPrincipalName already exists" in again.json()["error"]["message"]
    missing = await graph.post("users", json={"displayName": "Y"})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "Request_BadRequest"


async def test_filters_eq_in_startswith_and_advanced(
    graph: httpx.AsyncClient, make_user: Any
) -> None:
    a = await make_user(employeeId="E-10", mail="Anna@Skola.Example")
    b = await make_user(employeeId="E-20")
    await make_user(employeeId="F-30")

    async def ids(params: dict[str, str], **headers: str) -> set[str]:
        response = await graph.get("users", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {u["id"] for u in response.json()["value"]}

    assert await ids({"$filter": "employeeId eq 'E-10'"}) == {a["id"]}
    assert await ids({"$filter": "mail eq 'anna@skola.example'"}) == {a["id"]}
    assert await ids({"$filter": f"userPrincipalName eq '{b['userPrincipalName']}'"}) == {b["id"]}
    assert await ids({"$filter": "employeeId in ('E-10', 'E-20')"}) == {a["id"], b["id"]}
    assert await ids({"$filter": "startswith(employeeId, 'E-')"}) == {a["id"], b["id"]}
    assert await ids({"$filter": "employeeId eq 'E-10' or employeeId eq 'E-20'"}) == {
        a["id"],
        b["id"],
    }
    refused = await graph.get("users", params={"$filter": "employeeId ne 'E-10'"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    advanced = await graph.get(
        "users",
        params={
            "$filter": "startswith(employeeId, 'E-') and employeeId ne 'E-10'",
            "$count": "true",
        },
        headers={"ConsistencyLevel": "eventual"},
    )
    assert advanced.status_code == 200
    assert advanced.json()["@odata.count"] == 1
    assert [u["id"] for u in advanced.json()["value"]] == [b["id"]]


async def test_paging_follows_opaque_next_links(graph: httpx.AsyncClient, make_user: Any) -> None:
    created = [(await make_user())["id"] for _ in range(5)]
    seen: list[str] = []
    response = await graph.get("users", params={"$top": "2", "$select": "id,displayName"})
    pages = 0
    while True:
        body = response.json()
        pages += 1
        assert all(set(u) == {"id", "displayName"} for u in body["value"])
        seen.extend(u["id"] for u in body["value"])
        if "@odata.nextLink" not in body:
            break
        assert "$skiptoken=" in body["@odata.nextLink"]
        response = await graph.get(body["@odata.nextLink"])
    assert pages == 3
    assert seen == created
    bad = await graph.get("users", params={"$skiptoken": "forged"})
    assert bad.status_code == 400
    too_big = await graph.get("users", params={"$top": "1000"})
    assert too_big.status_code == 400


async def test_orderby_display_name(graph: httpx.AsyncClient, make_user: Any) -> None:
    await make_user(displayName="Cecilia")
    await make_user(displayName="adam")
    await make_user(displayName="Bertil")
    names = [
        u["displayName"]
        for u in (await graph.get("users", params={"$orderby": "displayName"})).json()["value"]
    ]
    assert names == ["adam", "Bertil", "Cecilia"]


async def test_group_members_ref_add_duplicate_and_remove(
    graph: httpx.AsyncClient, make_user: Any
) -> None:
    group = await new_group(graph, "g1")
    user = await make_user()
    path = f"groups/{group['id']}/members/$ref"
    assert (await graph.post(path, json=ref("directoryObjects", user["id"]))).status_code == 204
    duplicate = await graph.post(path, json=ref("directoryObjects", user["id"]))
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["message"] == DUPLICATE
    unknown = await graph.post(path, json=ref("directoryObjects", "no-such-user"))
    assert unknown.status_code == 404
    members = (await graph.get(f"groups/{group['id']}/members")).json()["value"]
    assert [m["id"] for m in members] == [user["id"]]
    removed = await graph.delete(f"groups/{group['id']}/members/{user['id']}/$ref")
    assert removed.status_code == 204
    assert (await graph.get(f"groups/{group['id']}/members")).json()["value"] == []
    again = await graph.delete(f"groups/{group['id']}/members/{user['id']}/$ref")
    assert again.status_code == 404


async def test_owner_ref_and_delete(graph: httpx.AsyncClient, make_user: Any) -> None:
    group = await new_group(graph, "g-own")
    user = await make_user()
    added = await graph.post(f"groups/{group['id']}/owners/$ref", json=ref("users", user["id"]))
    assert added.status_code == 204
    owners = (await graph.get(f"groups/{group['id']}/owners")).json()["value"]
    assert [o["id"] for o in owners] == [user["id"]]
    assert (await graph.delete(f"groups/{group['id']}/owners/{user['id']}/$ref")).status_code == 204


async def test_patch_bind_is_all_or_nothing_and_capped_at_20(
    graph: httpx.AsyncClient, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    group = await new_group(graph, "bulk")
    users = [(await make_user())["id"] for _ in range(3)]
    ok = await graph.patch(
        f"groups/{group['id']}",
        json={"members@odata.bind": bind(users[0], users[1]), "owners@odata.bind": bind(users[2])},
    )
    assert ok.status_code == 204
    state = {g["id"]: g for g in sandbox.state()["groups"]}[group["id"]]
    assert set(state["members"]) == {users[0], users[1]}
    assert state["owners"] == [users[2]]
    # One existing member in the list: nothing is added.
    fresh = (await make_user())["id"]
    mixed = await graph.patch(
        f"groups/{group['id']}", json={"members@odata.bind": bind(fresh, users[0])}
    )
    assert mixed.status_code == 400
    assert mixed.json()["error"]["message"] == DUPLICATE
    unknown = await graph.patch(
        f"groups/{group['id']}", json={"members@odata.bind": bind(fresh, "missing-id")}
    )
    assert unknown.status_code == 400
    too_many = await graph.patch(
        f"groups/{group['id']}", json={"members@odata.bind": bind(*[fresh] * 21)}
    )
    assert too_many.status_code == 400
    state = {g["id"]: g for g in sandbox.state()["groups"]}[group["id"]]
    assert fresh not in state["members"]


async def test_group_nickname_collision_patch_and_delete(graph: httpx.AsyncClient) -> None:
    group = await new_group(graph, "samma")
    clash = await graph.post(
        "groups",
        json={
            "displayName": "Other",
            "mailNickname": "SAMMA",
            "mailEnabled": False,
            "securityEnabled": True,
        },
    )
    assert clash.status_code == 400
    assert clash.json()["error"]["message"] == NICKNAME
    assert set(clash.json()["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    renamed = await graph.patch(f"groups/{group['id']}", json={"displayName": "Nytt namn"})
    assert renamed.status_code == 204
    assert (await graph.get(f"groups/{group['id']}")).json()["displayName"] == "Nytt namn"
    listed = await graph.get("groups", params={"$filter": "mailNickname eq 'samma'"})
    assert [g["id"] for g in listed.json()["value"]] == [group["id"]]
    assert (await graph.delete(f"groups/{group['id']}")).status_code == 204
    assert (await graph.get(f"groups/{group['id']}")).status_code == 404


async def test_error_body_echoes_client_request_id(graph: httpx.AsyncClient) -> None:
    response = await graph.get("users/unknown", headers={"client-request-id": "abc-123"})
    inner = response.json()["error"]["innerError"]
    assert inner["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"
    assert inner["request-id"] == response.headers["request-id"]
    unknown_segment = await graph.get("nothing-here")
    assert unknown_segment.status_code == 400
