"""Class Teams: template, async operation, refusals, legacy PUT, archiving."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.microsoft.sandbox import MicrosoftSandbox

NOT_A_CLASS = (
    "Team with template 'educationClass' can not be provisioned using a group which does not "
    "belong to a class."
)


def team_body(group_id: str, template: str = "educationClass") -> dict[str, str]:
    return {
        "template@odata.bind": f"https://graph.microsoft.com/v1.0/teamsTemplates('{template}')",
        "group@odata.bind": f"https://graph.microsoft.com/v1.0/groups('{group_id}')",
    }


async def class_with_teacher(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any
) -> dict[str, Any]:
    klass: dict[str, Any] = await make_class()
    teacher = await make_user()
    response = await graph.post(
        f"education/classes/{klass['id']}/teachers/$ref",
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/education/users/{teacher['id']}"},
    )
    assert response.status_code == 204
    return klass


async def test_team_creation_is_asynchronous(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.team_operation_delay_s = 3600  # stays in progress for this test
    klass = await class_with_teacher(graph, make_class, make_user)
    created = await graph.post("teams", json=team_body(klass["id"]))
    assert created.status_code == 202
    assert created.content == b""
    assert created.headers["content-location"] == f"/teams('{klass['id']}')"
    location = created.headers["location"]
    assert location.startswith(f"/teams('{klass['id']}')/operations('")
    operation = (await graph.get(location.lstrip("/"))).json()
    assert operation["status"] in ("notStarted", "inProgress")
    assert operation["operationType"] == "createTeam"
    assert operation["targetResourceId"] == klass["id"]
    assert (await graph.get(f"teams/{klass['id']}")).status_code == 404
    again = await graph.post("teams", json=team_body(klass["id"]))
    assert again.status_code == 409
    assert "The group is already provisioned" in again.json()["error"]["message"]


async def test_team_ready_after_operation_succeeds(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.team_operation_delay_s = 0
    klass = await class_with_teacher(graph, make_class, make_user)
    created = await graph.post("teams", json=team_body(klass["id"]))
    operation = (await graph.get(created.headers["location"].lstrip("/"))).json()
    assert operation["status"] == "succeeded"
    team = (await graph.get(f"teams/{klass['id']}")).json()
    assert team["id"] == klass["id"]
    assert team["specialization"] == "educationClass"
    assert team["isArchived"] is False
    group = (await graph.get(f"groups/{klass['id']}")).json()
    assert "Team" in group["resourceProvisioningOptions"]


async def test_education_template_refuses_a_plain_group(
    graph: httpx.AsyncClient, make_user: Any
) -> None:
    owner = await make_user()
    group = await graph.post(
        "groups",
        json={
            "displayName": "Plain",
            "mailNickname": "plain",
            "mailEnabled": True,
            "securityEnabled": False,
            "groupTypes": ["Unified"],
            "owners@odata.bind": [f"https://graph.microsoft.com/v1.0/users/{owner['id']}"],
        },
    )
    refused = await graph.post("teams", json=team_body(group.json()["id"]))
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == NOT_A_CLASS
    standard = await graph.post("teams", json=team_body(group.json()["id"], "standard"))
    assert standard.status_code == 202


async def test_team_needs_an_owner_and_no_group_fields(
    graph: httpx.AsyncClient, make_class: Any
) -> None:
    klass = await make_class()
    no_owner = await graph.post("teams", json=team_body(klass["id"]))
    assert no_owner.status_code == 400
    assert "owner" in no_owner.json()["error"]["message"]
    with_name = await graph.post("teams", json={**team_body(klass["id"]), "displayName": "X"})
    assert with_name.status_code == 400


async def test_young_group_gets_the_replication_404(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    sandbox.settings.team_min_group_age_s = 900
    klass = await class_with_teacher(graph, make_class, make_user)
    refused = await graph.post("teams", json=team_body(klass["id"]))
    assert refused.status_code == 404
    assert "GetGroupFromIdS2SRequest" in refused.json()["error"]["message"]
    sandbox.settings.team_min_group_age_s = 0
    assert (await graph.post("teams", json=team_body(klass["id"]))).status_code == 202


async def test_legacy_put_group_team(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any
) -> None:
    klass = await class_with_teacher(graph, make_class, make_user)
    created = await graph.put(
        f"groups/{klass['id']}/team", json={"memberSettings": {"allowCreateUpdateChannels": False}}
    )
    assert created.status_code == 201
    assert created.json()["memberSettings"] == {"allowCreateUpdateChannels": False}
    assert (await graph.get(f"groups/{klass['id']}/team")).status_code == 200
    assert (await graph.put(f"groups/{klass['id']}/team", json={})).status_code == 409


async def test_archive_and_unarchive(
    graph: httpx.AsyncClient, make_class: Any, make_user: Any, sandbox: MicrosoftSandbox
) -> None:
    klass = await class_with_teacher(graph, make_class, make_user)
    await graph.post("teams", json=team_body(klass["id"]))
    refused = await graph.patch(f"teams/{klass['id']}", json={"isArchived": True})
    assert refused.status_code == 400
    archived = await graph.post(f"teams/{klass['id']}/archive", json={})
    assert archived.status_code == 202
    operation = (await graph.get(archived.headers["location"].lstrip("/"))).json()
    assert operation["operationType"] == "archiveTeam"
    assert (await graph.get(f"teams/{klass['id']}")).json()["isArchived"] is True
    assert sandbox.state()["teams"][0]["isArchived"] is True
    assert (await graph.post(f"teams/{klass['id']}/unarchive")).status_code == 202
    assert (await graph.get(f"teams/{klass['id']}")).json()["isArchived"] is False
