"""Error classification from the sandbox's real Graph error bodies."""

from __future__ import annotations

from adapters.microsoft.client import GraphClient
from adapters.microsoft.errors import GraphResponse, Verdict, classify, permission_for
from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget


async def _raw(client: GraphClient, method: str, url: str, body: object = None) -> GraphResponse:
    return await client.send(method, url, json=body, retry_transient=False)


def _user(n: int) -> dict[str, object]:
    return {
        "accountEnabled": True,
        "displayName": f"U{n}",
        "mailNickname": f"u{n}",
        "userPrincipalName": f"u{n}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
    }


async def test_conflicts_and_existing_references_mean_exists(ms_target: MicrosoftTarget) -> None:
    client = ms_target.client
    assert (await _raw(client, "POST", "users", _user(1))).status == 201
    taken = await _raw(client, "POST", "users", _user(1))
    c = classify(taken, "POST", "users")
    assert c.verdict is Verdict.EXISTS
    assert c.conflict_property == "userPrincipalName"

    cls = await _raw(
        client,
        "POST",
        "education/classes",
        {"displayName": "A", "mailNickname": "c-a", "externalId": "a"},
    )
    again = await _raw(
        client,
        "POST",
        "education/classes",
        {"displayName": "A", "mailNickname": "c-a", "externalId": "a"},
    )
    assert classify(again, "POST", "education/classes").conflict_property == "mailNickname"

    uid = (await _raw(client, "GET", "users/u1@skola.example")).body["id"]
    ref = {"@odata.id": client.ref("directoryObjects", uid)}
    cid = cls.body["id"]
    assert (await _raw(client, "POST", f"groups/{cid}/members/$ref", ref)).status == 204
    dup = await _raw(client, "POST", f"groups/{cid}/members/$ref", ref)
    assert classify(dup, "POST", f"groups/{cid}/members/$ref").verdict is Verdict.EXISTS
    dup_bind = await _raw(
        client,
        "PATCH",
        f"groups/{cid}",
        {"members@odata.bind": [client.ref("directoryObjects", uid)]},
    )
    assert classify(dup_bind, "PATCH", f"groups/{cid}").verdict is Verdict.EXISTS


async def test_missing_objects_retry_unless_a_removal(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    cls = await _raw(
        client,
        "POST",
        "education/classes",
        {"displayName": "B", "mailNickname": "c-b", "externalId": "b"},
    )
    ms_sandbox.settings.propagation_delay_s = 30.0
    fresh = await _raw(client, "POST", "users", _user(2))
    assert fresh.status == 201
    unseen = await _raw(client, "PATCH", f"users/{fresh.body['id']}", {"displayName": "X"})
    assert unseen.status == 404
    c = classify(unseen, "PATCH", "users/x")
    assert c.verdict is Verdict.RETRY
    assert c.reason == "not_visible"
    cid = cls.body["id"]
    # binding a user not replicated yet: 400 "...referenced do not exist" -> retry
    bind = await _raw(
        client,
        "PATCH",
        f"groups/{cid}",
        {"members@odata.bind": [client.ref("directoryObjects", fresh.body["id"])]},
    )
    assert bind.status == 400
    assert classify(bind, "PATCH", f"groups/{cid}", fresh=True).reason == "not_visible"
    gone = await _raw(client, "DELETE", "users/00000000-0000-4000-8000-000000000000")
    assert classify(gone, "DELETE", "users/x").verdict is Verdict.GONE


async def test_team_answers(ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget) -> None:
    client = ms_target.client
    group = await _raw(
        client,
        "POST",
        "groups",
        {
            "displayName": "G",
            "mailNickname": "g",
            "mailEnabled": True,
            "securityEnabled": False,
            "groupTypes": ["Unified"],
        },
    )
    body = {
        "template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('educationClass')",
        "group@odata.bind": f"https://graph.microsoft.com/v1.0/groups('{group.body['id']}')",
    }
    not_class = await _raw(client, "POST", "teams", body)
    assert classify(not_class, "POST", "teams").reason == "not_visible"
    uid = (await _raw(client, "POST", "users", _user(4))).body["id"]
    cls = await _raw(
        client,
        "POST",
        "education/classes",
        {"displayName": "C", "mailNickname": "c-c", "externalId": "c"},
    )
    cid = cls.body["id"]
    await _raw(
        client,
        "PATCH",
        f"groups/{cid}",
        {"owners@odata.bind": [client.ref("directoryObjects", uid)]},
    )
    body["group@odata.bind"] = f"https://graph.microsoft.com/v1.0/groups('{cid}')"
    assert (await _raw(client, "POST", "teams", body)).status == 202
    again = await _raw(client, "POST", "teams", body)
    assert classify(again, "POST", "teams").verdict is Verdict.EXISTS  # already provisioned


async def test_throttling_and_server_errors_retry_with_retry_after(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    ms_sandbox.settings.directory_write_limit = 1
    ms_sandbox.settings.directory_write_window_s = 1.0
    client = ms_target.client
    await _raw(client, "POST", "users", _user(5))
    # sent past the client's own pacing, as a second client of the same app would
    throttled = None
    for n in range(6, 9):
        resp = await client._once("POST", "users", _user(n), None)
        if resp.status == 429:
            throttled = resp
            break
    assert throttled is not None
    c = classify(throttled, "POST", "users")
    assert c.verdict is Verdict.RETRY
    assert c.reason == "throttled"
    assert c.retry_after is not None
    assert c.retry_after >= 1
    ms_sandbox.settings.directory_write_limit = 3000
    ms_sandbox.settings.fault_rate = 1.0
    ms_sandbox.settings.fault_kinds = ("5xx",)
    await client.writes.wait_gate()
    failed = await _raw(client, "GET", "users")
    ms_sandbox.settings.fault_rate = 0.0
    assert failed.status >= 500
    assert classify(failed, "GET", "users").reason == "server_error"


async def test_bad_data_is_a_finding_and_bad_token_is_fatal(ms_target: MicrosoftTarget) -> None:
    client = ms_target.client
    bad = await _raw(client, "POST", "education/users", {**_user(9), "primaryRole": "pupil"})
    assert bad.status == 400
    c = classify(bad, "POST", "education/users")
    assert c.verdict is Verdict.FAILED
    assert "pupil" in c.message
    resp = await client._http.get(client.url("users"), headers={"Authorization": "Bearer x.y.z"})
    raw = GraphResponse(resp.status_code, resp.json(), dict(resp.headers))
    assert classify(raw, "GET", "users").verdict is Verdict.FATAL


def test_permission_refusal_names_the_permission_to_grant() -> None:
    # The sandbox grants every permission, so a 403 is built from the reference's error format.
    body = {
        "error": {
            "code": "Authorization_RequestDenied",
            "message": "Insufficient privileges to complete the operation.",
            "innerError": {
                "date": "2025-01-01T00:00:00",
                "request-id": "r",
                "client-request-id": "c",
            },
        }
    }
    denied = GraphResponse(403, body, {})
    c = classify(denied, "POST", "education/classes")
    assert c.verdict is Verdict.FATAL
    assert "EduRoster.ReadWrite.All" in c.message
    assert "Team.Create" in classify(denied, "POST", "teams").message
    assert permission_for("POST", "teams/abc/archive") == "TeamSettings.ReadWrite.All"
    assert permission_for("PATCH", "groups/abc") == "Group.ReadWrite.All"
    assert permission_for("POST", "users") == "User.ReadWrite.All"
