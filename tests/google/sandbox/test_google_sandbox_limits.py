"""Quotas count calls, each part of a batch alone; batch sizes; faults; scopes and switches."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import httpx
import pytest
from google_support import mint_token

from adapters.google.sandbox import GoogleSandbox


def _client(sandbox: GoogleSandbox, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.info.root_url,
        verify=ssl.create_default_context(cafile=sandbox.info.ca_path),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _batch(
    client: httpx.Client, calls: list[tuple[str, str, Any]]
) -> list[tuple[int, dict[str, str], Any]]:
    """Send ``calls`` as one multipart/mixed batch; the parts' (status, headers, body)."""
    boundary = "===============7330845974216740156=="
    chunks = []
    for i, (method, path, body) in enumerate(calls):
        data = json.dumps(body) if body is not None else ""
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/http\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: <b29c5de2 + {i}>\r\n\r\n"
            f"{method} {path}?alt=json HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"\r\n{data}\r\n"
        )
    payload = "".join(chunks) + f"--{boundary}--\r\n"
    answer = client.post(
        "batch",
        content=payload.encode(),
        headers={"Content-Type": f'multipart/mixed; boundary="{boundary}"'},
    )
    assert answer.status_code == 200, answer.text
    import email.parser

    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + answer.headers["content-type"].encode() + b"\r\n\r\n" + answer.content
    )
    out: dict[int, tuple[int, dict[str, str], Any]] = {}
    for part in message.get_payload():  # type: ignore[union-attr]
        index = int(str(part["Content-ID"]).strip("<>").rpartition(" + ")[2])
        assert str(part["Content-ID"]).startswith("<response-")
        head, _, body = str(part.get_payload()).replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        out[index] = (int(lines[0].split()[1]), headers, json.loads(body) if body.strip() else None)
    return [out[i] for i in range(len(calls))]


def _owner(client: httpx.Client, domain: str, name: str = "owner") -> str:
    answer = client.post(
        "admin/directory/v1/users",
        json={
            "primaryEmail": f"{name}@{domain}",
            "name": {"givenName": "O", "familyName": "W"},
            "password": "p" * 12,
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_each_call_inside_a_batch_counts_against_the_per_user_quota(
    google_sandbox: GoogleSandbox,
) -> None:
    google_sandbox.update_settings(classroom_per_user_per_min=5, time_scale=0.05)
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        owner = _owner(client, google_sandbox.info.domain)
        calls = [
            ("POST", "/v1/courses", {"id": f"d:q{i}", "name": "Q", "ownerId": owner})
            for i in range(8)
        ]
        parts = _batch(client, calls)
    statuses = [status for status, _, _ in parts]
    assert statuses == [200] * 5 + [429] * 3
    _, headers, body = parts[5]
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "per minute per user" in body["error"]["message"]
    assert 0 < float(headers["Retry-After"]) <= 3.0  # a minute at time scale 0.05
    stats = google_sandbox.stats()
    assert (stats.http_requests, stats.calls, stats.throttled) == (2, 9, 3)
    assert len(google_sandbox.state()["courses"]) == 5


def test_the_project_quota_spans_admin_subjects(google_sandbox: GoogleSandbox) -> None:
    google_sandbox.update_settings(
        classroom_per_user_per_min=5, classroom_per_project_per_min=8, time_scale=0.05
    )
    first, second = google_sandbox.info.admin_subjects[:2]
    with _client(google_sandbox, mint_token(google_sandbox, first)) as a:
        assert [s for s, _, _ in _batch(a, [("GET", "/v1/courses", None)] * 5)] == [200] * 5
    with _client(google_sandbox, mint_token(google_sandbox, second)) as b:
        parts = _batch(b, [("GET", "/v1/courses", None)] * 5)
    assert [s for s, _, _ in parts] == [200] * 3 + [429] * 2
    assert "per minute per project" in parts[3][2]["error"]["message"]


def test_the_directory_quota_answers_user_rate_limit_exceeded(
    google_sandbox: GoogleSandbox,
) -> None:
    google_sandbox.update_settings(directory_per_user_per_min=3, time_scale=0.05)
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        answers = [
            client.get("admin/directory/v1/users", params={"customer": "my_customer"})
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 403]
        error = answers[3].json()["error"]
        assert error["errors"][0]["reason"] == "userRateLimitExceeded"
        wait = float(answers[3].headers["Retry-After"])
        early = client.get("admin/directory/v1/users", params={"customer": "my_customer"})
        assert early.status_code == 403
        time.sleep(wait + 0.05)
        late = client.get("admin/directory/v1/users", params={"customer": "my_customer"})
        assert late.status_code == 200
    assert google_sandbox.stats().early_retries == 1


def test_batch_sizes_follow_each_api(google_sandbox: GoogleSandbox) -> None:
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        too_many = [("GET", "/v1/courses", None)] * 51
        boundary = "b"
        payload = (
            "".join(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <x + {i}>\r\n\r\n"
                f"{m} {p} HTTP/1.1\r\n\r\n\r\n"
                for i, (m, p, _) in enumerate(too_many)
            )
            + f"--{boundary}--\r\n"
        )
        refused = client.post(
            "batch",
            content=payload,
            headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )
        assert refused.status_code == 400
        assert "more than 50" in refused.json()["error"]["message"]
        directory = [("GET", "/admin/directory/v1/users/nobody@x", None)] * 51
        parts = _batch(client, directory)
        assert [s for s, _, _ in parts] == [404] * 51
    assert google_sandbox.stats().calls == 51


def test_an_applied_fault_leaves_the_course_and_the_retry_meets_its_alias(
    google_sandbox: GoogleSandbox,
) -> None:
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        owner = _owner(client, google_sandbox.info.domain)
        google_sandbox.update_settings(fault_rate=1.0, fault_kinds=("applied_5xx",))
        body = {"id": "d:2026/HT MA1", "name": "Ma 1", "ownerId": owner}
        first = client.post("v1/courses", json=body)
        assert first.status_code >= 500
        google_sandbox.update_settings(fault_rate=0.0)
        again = client.post("v1/courses", json=body)
        assert again.status_code == 409
        assert again.json()["error"]["status"] == "ALREADY_EXISTS"
        found = client.get("v1/courses/d%3A2026%2FHT%20MA1")
        assert found.status_code == 200 and found.json()["name"] == "Ma 1"
        google_sandbox.update_settings(fault_rate=1.0, fault_kinds=("5xx",))
        refused = client.post("v1/courses", json={**body, "id": "d:other"})
        assert refused.status_code >= 500
        google_sandbox.update_settings(fault_rate=0.0)
        assert client.get("v1/courses/d:other").status_code == 404


def test_a_token_carries_only_its_scopes_and_switches_are_honoured(
    google_sandbox: GoogleSandbox,
) -> None:
    from google.auth.exceptions import RefreshError

    directory_only = mint_token(
        google_sandbox, scopes=("https://www.googleapis.com/auth/admin.directory.user",)
    )
    with _client(google_sandbox, directory_only) as client:
        denied = client.get("v1/courses")
        assert denied.status_code == 403
        assert (
            denied.json()["error"]["message"] == "Request had insufficient authentication scopes."
        )
    with httpx.Client(verify=ssl.create_default_context(cafile=google_sandbox.info.ca_path)) as c:
        assert c.get(google_sandbox.info.root_url + "v1/courses").status_code == 401
    google_sandbox.update_settings(
        delegated_scopes=("https://www.googleapis.com/auth/admin.directory.user",)
    )
    with pytest.raises(RefreshError, match="unauthorized_client"):
        mint_token(google_sandbox)
    google_sandbox.update_settings(
        delegated_scopes=tuple(google_sandbox.settings.__class__().delegated_scopes),
        classroom_api_enabled=False,
    )
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        off = client.get("v1/courses").json()["error"]
        assert off["message"].startswith("@ClassroomApiDisabled ")
        assert off["status"] == "PERMISSION_DENIED"


def test_a_new_user_is_not_found_by_classroom_for_a_while(google_sandbox: GoogleSandbox) -> None:
    google_sandbox.update_settings(new_user_not_found_s=20.0, time_scale=0.02)
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        owner = _owner(client, google_sandbox.info.domain)
        body = {"id": "d:new", "name": "N", "ownerId": owner}
        assert client.post("v1/courses", json=body).status_code == 404
        time.sleep(0.45)
        assert client.post("v1/courses", json=body).status_code == 200


def test_org_units_and_courses_refuse_what_google_refuses(google_sandbox: GoogleSandbox) -> None:
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        ou = "admin/directory/v1/customer/my_customer/orgunits"
        assert client.post(ou, json={"name": "Elever", "parentOrgUnitPath": "/"}).status_code == 200
        user = {
            "primaryEmail": f"e@{google_sandbox.info.domain}",
            "name": {"givenName": "E", "familyName": "F"},
            "password": "p" * 12,
        }
        missing = client.post("admin/directory/v1/users", json={**user, "orgUnitPath": "/Nej"})
        assert missing.json()["error"]["message"] == "Invalid Input: INVALID_OU_ID"
        owner = client.post("admin/directory/v1/users", json={**user, "orgUnitPath": "/Elever"})
        busy = client.delete(f"{ou}/Elever")
        assert busy.status_code == 412
        assert busy.json()["error"]["errors"][0]["reason"] == "conditionNotMet"
        course = client.post(
            "v1/courses", json={"name": "C", "ownerId": owner.json()["primaryEmail"]}
        ).json()
        assert client.delete(f"v1/courses/{course['id']}").status_code == 400  # not archived
        mask = client.patch(f"v1/courses/{course['id']}", json={"name": "D"})
        assert mask.status_code == 400  # updateMask is required
        owner_out = client.delete(
            f"v1/courses/{course['id']}/teachers/{owner.json()['id']}"
        ).json()["error"]
        assert owner_out["message"].startswith("@CannotRemoveCourseOwner ")
        client.patch(
            f"v1/courses/{course['id']}",
            params={"updateMask": "courseState"},
            json={"courseState": "ARCHIVED"},
        )
        assert client.delete(f"v1/courses/{course['id']}").json() == {}


def test_a_user_of_another_domain_is_invited_not_added(google_sandbox: GoogleSandbox) -> None:
    outsider = google_sandbox.add_external_user("kim@annan.example")
    with _client(google_sandbox, mint_token(google_sandbox)) as client:
        owner = _owner(client, google_sandbox.info.domain)
        client.post("v1/courses", json={"id": "d:ext", "name": "E", "ownerId": owner})
        added = client.post("v1/courses/d:ext/students", json={"userId": "kim@annan.example"})
        assert added.status_code == 403
        assert added.json()["error"]["message"].startswith("@CannotDirectAddUser ")
        invited = client.post(
            "v1/invitations",
            json={"courseId": "d:ext", "role": "STUDENT", "userId": "kim@annan.example"},
        )
        assert invited.status_code == 200 and invited.json()["userId"] == outsider
        twice = client.post(
            "v1/invitations",
            json={"courseId": "d:ext", "role": "STUDENT", "userId": outsider},
        )
        assert twice.status_code == 409
        listed = client.get("v1/invitations", params={"courseId": "d:ext"}).json()
        assert [i["userId"] for i in listed["invitations"]] == [outsider]
        assert client.get("v1/invitations").status_code == 400  # a course or a user is needed
        gone = client.delete(f"v1/invitations/{invited.json()['id']}")
        assert gone.status_code == 200
    assert google_sandbox.state()["invitations"] == []


def test_groups_share_the_address_space_and_hold_members(google_sandbox: GoogleSandbox) -> None:
    scopes = (
        "https://www.googleapis.com/auth/admin.directory.user",
        "https://www.googleapis.com/auth/admin.directory.group",
    )
    domain = google_sandbox.info.domain
    with _client(google_sandbox, mint_token(google_sandbox, scopes=scopes)) as client:
        _owner(client, domain, "anna")
        base = "admin/directory/v1/groups"
        taken = client.post(base, json={"email": f"anna@{domain}", "name": "A"})
        assert taken.status_code == 409
        made = client.post(base, json={"email": f"elever@{domain}", "name": "Elever"})
        assert made.status_code == 200
        user = client.post(
            "admin/directory/v1/users",
            json={
                "primaryEmail": f"elever@{domain}",
                "name": {"givenName": "E", "familyName": "L"},
                "password": "p" * 12,
            },
        )
        assert user.status_code == 409  # a group's address is taken for users too
        member = {"email": f"anna@{domain}", "role": "MEMBER"}
        assert client.post(f"{base}/elever@{domain}/members", json=member).status_code == 200
        assert client.post(f"{base}/elever@{domain}/members", json=member).status_code == 409
        listed = client.get(f"{base}/elever@{domain}/members").json()
        assert [m["email"] for m in listed["members"]] == [f"anna@{domain}"]
        gone = client.delete(f"{base}/elever@{domain}/members/anna@{domain}")
        assert gone.status_code == 204 and gone.content == b""
    assert google_sandbox.state()["groups"][0]["members"] == []
