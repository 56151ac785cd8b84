"""/education: schools, classes (one store with groups), education users and their $refs."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox


def ref(kind: str, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/{kind}/{object_id}"}


async def new_edu_user(graph: httpx.AsyncClient, n: int, role: str) -> dict[str, Any]:
    body = {
        "accountEnabled": True,
        "displayName": f"Person {n}",
        "mailNickname": f"person{n}",
        "userPrincipalName": f"person{n}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
        "primaryRole": role,
        role: {"externalId": f"sis-{n}"},
    }
    response = await graph.post("education/users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_class_is_a_group_with_the_same_id(graph: httpx.AsyncClient, make_class: Any) -> None:
    klass = await make_class(
        classCode="7A",
        term={"displayName": "HT25", "startDate": "2025-08-18", "endDate": "2026-01-16"},
    )
    assert klass["externalSource"] == "sis"
    assert klass["term"]["displayName"] == "HT25"
    group = (await graph.get(f"groups/{klass['id']}")).json()
    assert group["id"] == klass["id"]
    assert group["groupTypes"] == ["Unified"]
    assert group["displayName"] == klass["displayName"]
    found = await graph.get("education/classes", params={"$filter": "externalId eq 'class-1'"})
    assert [c["id"] for c in found.json()["value"]] == [klass["id"]]
    patched = await graph.patch(
        f"education/classes/{klass['id']}", json={"displayName": "2025 7A (ny)", "grade": "7"}
    )
    assert patched.status_code == 200
    assert (await graph.get(f"groups/{klass['id']}")).json()["displayName"] == "2025 7A (ny)"
    assert (await graph.get(f"education/classes/{klass['id']}/group")).json()["id"] == klass["id"]
    assert (await graph.delete(f"education/classes/{klass['id']}")).status_code == 204
    assert (await graph.get(f"groups/{klass['id']}")).status_code == 404


async def test_class_nickname_collision(graph: httpx.AsyncClient, make_class: Any) -> None:
    await make_class(mailNickname="matte7a")
    clash = await graph.post(
        "education/classes",
        json={"displayName": "Matte", "mailNickname": "matte7a", "externalId": "other"},
    )
    assert clash.status_code == 400
    assert clash.json()["error"]["message"] == (
        "Another object with the same value for property mailNickname already exists."
    )


async def test_class_members_and_teachers(
    graph: httpx.AsyncClient, make_class: Any, sandbox: MicrosoftSandbox
) -> None:
    klass = await make_class()
    student = await new_edu_user(graph, 1, "student")
    teacher = await new_edu_user(graph, 2, "teacher")
    base = f"education/classes/{klass['id']}"
    student_ref = ref("education/users", student["id"])
    assert (await graph.post(f"{base}/members/$ref", json=student_ref)).status_code == 204
    teacher_ref = ref("education/users", teacher["id"])
    assert (await graph.post(f"{base}/teachers/$ref", json=teacher_ref)).status_code == 204
    duplicate = await graph.post(f"{base}/members/$ref", json=student_ref)
    assert duplicate.status_code == 400
    assert "already exist" in duplicate.json()["error"]["message"]
    members = [u["id"] for u in (await graph.get(f"{base}/members")).json()["value"]]
    teachers = (await graph.get(f"{base}/teachers")).json()["value"]
    assert members == [student["id"]]
    assert [t["id"] for t in teachers] == [teacher["id"]]
    assert teachers[0]["primaryRole"] == "teacher"
    group = {g["id"]: g for g in sandbox.state()["groups"]}[klass["id"]]
    assert group["owners"] == [teacher["id"]]  # a teacher is a group owner
    taught = (await graph.get(f"education/users/{teacher['id']}/taughtClasses")).json()["value"]
    assert [c["id"] for c in taught] == [klass["id"]]
    assert (await graph.delete(f"{base}/members/{student['id']}/$ref")).status_code == 204
    assert (await graph.delete(f"{base}/teachers/{teacher['id']}/$ref")).status_code == 204
    group = {g["id"]: g for g in sandbox.state()["groups"]}[klass["id"]]
    assert group["members"] == []
    assert group["owners"] == []


async def test_a_plain_group_is_not_a_class(graph: httpx.AsyncClient) -> None:
    group = await graph.post(
        "groups",
        json={
            "displayName": "G",
            "mailNickname": "g",
            "mailEnabled": False,
            "securityEnabled": True,
        },
    )
    missing = await graph.get(f"education/classes/{group.json()['id']}")
    assert missing.status_code == 404


async def test_education_user_crud_and_filter(graph: httpx.AsyncClient) -> None:
    student = await new_edu_user(graph, 7, "student")
    assert student["primaryRole"] == "student"
    assert student["student"]["externalId"] == "sis-7"
    patched = await graph.patch(
        f"education/users/{student['id']}", json={"displayName": "Ny Elev", "accountEnabled": False}
    )
    assert patched.status_code == 200
    assert patched.json()["accountEnabled"] is False
    same = await graph.get(f"users/{student['id']}", params={"$select": "displayName"})
    assert same.json()["displayName"] == "Ny Elev"  # one record, two views
    listed = await graph.get(
        "education/users",
        params={"$filter": f"userPrincipalName eq '{student['userPrincipalName']}'"},
    )
    assert [u["id"] for u in listed.json()["value"]] == [student["id"]]
    wrong_role = await graph.post("education/users", json={"primaryRole": "rector"})
    assert wrong_role.status_code == 400
    assert (await graph.delete(f"education/users/{student['id']}")).status_code == 204


async def test_schools_with_users_and_classes(
    graph: httpx.AsyncClient, make_class: Any, sandbox: MicrosoftSandbox
) -> None:
    created = await graph.post(
        "education/schools",
        json={
            "displayName": "Norrskolan",
            "externalId": "SKOLA-1",
            "schoolNumber": "12345678",
            "externalSource": "sis",
        },
    )
    assert created.status_code == 201
    school = created.json()
    found = await graph.get("education/schools", params={"$filter": "externalId eq 'SKOLA-1'"})
    assert [s["id"] for s in found.json()["value"]] == [school["id"]]
    student = await new_edu_user(graph, 3, "student")
    klass = await make_class()
    base = f"education/schools/{school['id']}"
    assert (
        await graph.post(f"{base}/users/$ref", json=ref("education/users", student["id"]))
    ).status_code == 204
    assert (
        await graph.post(f"{base}/classes/$ref", json=ref("education/classes", klass["id"]))
    ).status_code == 204
    again = await graph.post(f"{base}/users/$ref", json=ref("education/users", student["id"]))
    assert again.status_code == 400
    assert [u["id"] for u in (await graph.get(f"{base}/users")).json()["value"]] == [student["id"]]
    assert [c["id"] for c in (await graph.get(f"{base}/classes")).json()["value"]] == [klass["id"]]
    state = {s["id"]: s for s in sandbox.state()["schools"]}[school["id"]]
    assert state["users"] == [student["id"]]
    assert state["classes"] == [klass["id"]]
    assert (await graph.delete(f"{base}/users/{student['id']}/$ref")).status_code == 204
    assert (await graph.delete(f"{base}/classes/{klass['id']}/$ref")).status_code == 204
    patched = await graph.patch(base, json={"principalName": "Rektor"})
    assert patched.json()["principalName"] == "Rektor"
    state = {s["id"]: s for s in sandbox.state()["schools"]}[school["id"]]
    assert state["users"] == []
    assert state["classes"] == []
    assert (await graph.delete(base)).status_code == 204
