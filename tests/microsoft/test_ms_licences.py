"""Licences: the SKU a role's account should hold is assigned once the account exists, and the
sandbox refuses an assignment the way Entra does when the user has no usage location."""

from __future__ import annotations

from ms_support import build_target, drive, graph_client, small_snapshot

from adapters.microsoft.sandbox import MicrosoftSandbox
from engine.target import OutcomeKind

STUDENT_SKU = "314c4481-f395-4525-be8b-2ec4bb1e9d91"
TEACHER_SKU = "94763226-9b3c-4e75-a931-5c89701abe66"


async def test_accounts_get_their_roles_licence(ms_sandbox: MicrosoftSandbox) -> None:
    target = build_target(
        ms_sandbox.info, student_license_sku=STUDENT_SKU, teacher_license_sku=TEACHER_SKU
    )
    try:
        result = await drive(target, small_snapshot())
    finally:
        await target.aclose()
    assert not result.by_kind(OutcomeKind.FAILED)
    users = ms_sandbox.state()["users"]
    assert users
    for user in users:
        want = TEACHER_SKU if user.get("primaryRole") == "teacher" else STUDENT_SKU
        assert [lic["skuId"] for lic in user.get("assignedLicenses", [])] == [want]


def test_sandbox_refuses_a_licence_without_usage_location(ms_sandbox: MicrosoftSandbox) -> None:
    with graph_client(ms_sandbox) as client:
        user = client.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "Ny Elev",
                "mailNickname": "ny.elev",
                "userPrincipalName": "ny.elev@skola.example",
                "passwordProfile": {
                    "password": "x-Very-long-1",
                    "forceChangePasswordNextSignIn": True,
                },
            },
        ).json()
        body = {"addLicenses": [{"skuId": STUDENT_SKU, "disabledPlans": []}], "removeLicenses": []}
        refused = client.post(f"/users/{user['id']}/assignLicense", json=body)
        assert refused.status_code == 400
        assert "usage location" in refused.json()["error"]["message"]
        assert client.patch(f"/users/{user['id']}", json={"usageLocation": "SE"}).status_code == 204
        assert client.post(f"/users/{user['id']}/assignLicense", json=body).status_code == 200
        bad = client.post(
            f"/users/{user['id']}/assignLicense",
            json={"addLicenses": [{"skuId": "gold"}], "removeLicenses": []},
        )
        assert bad.status_code == 400
