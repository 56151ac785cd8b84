"""google-api-python-client itself, pointed at the sandbox, builds the Directory and Classroom
services from the discovery documents it ships and makes the calls ESS makes: the token through
a service account with domain-wide delegation, users and org units, a course created with a
``d:`` alias that holds a slash and a space, rosters, an owner change, archiving, paging, and a
batch sent to the sandbox's batch path (the library's batch helper ignores api_endpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from adapters.google.sandbox import GoogleSandbox

SCOPES = [
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
    "https://www.googleapis.com/auth/classroom.courses",
    "https://www.googleapis.com/auth/classroom.rosters",
]


def _http(sandbox: GoogleSandbox, subject: str, key_file: str | None = None) -> Any:
    info = sandbox.info
    creds = service_account.Credentials.from_service_account_file(
        key_file or info.key_file, scopes=SCOPES
    ).with_subject(subject)
    return google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(ca_certs=info.ca_path))


def _services(sandbox: GoogleSandbox, subject: str | None = None) -> tuple[Any, Any, Any]:
    info = sandbox.info
    http = _http(sandbox, subject or info.admin_subjects[0])
    options = {"api_endpoint": info.root_url}
    directory = build(
        "admin", "directory_v1", http=http, client_options=options, static_discovery=True
    )
    classroom = build("classroom", "v1", http=http, client_options=options, static_discovery=True)
    return directory, classroom, http


def _user(directory: Any, email: str, ou: str = "/") -> dict[str, Any]:
    body = {
        "primaryEmail": email,
        "name": {"givenName": "Elsa", "familyName": "Berg"},
        "password": "x" * 16,
        "orgUnitPath": ou,
        "externalIds": [{"type": "organization", "value": "pupil-1"}],
    }
    result: dict[str, Any] = directory.users().insert(body=body).execute()
    return result


def test_the_client_library_makes_the_calls_ess_makes(google_sandbox: GoogleSandbox) -> None:
    info = google_sandbox.info
    directory, classroom, _ = _services(google_sandbox)
    domain = info.domain

    # org units, created as needed, with a path that needs encoding
    directory.orgunits().insert(
        customerId="my_customer", body={"name": "Skolor", "parentOrgUnitPath": "/"}
    ).execute()
    directory.orgunits().insert(
        customerId="my_customer", body={"name": "Åby skola", "parentOrgUnitPath": "/Skolor"}
    ).execute()
    unit = directory.orgunits().get(customerId="my_customer", orgUnitPath="Skolor/Åby skola")
    assert unit.execute()["orgUnitPath"] == "/Skolor/Åby skola"

    teacher = _user(directory, f"anna.lind@{domain}", "/Skolor/Åby skola")
    co_teacher = _user(directory, f"bo.ek@{domain}")
    pupil = _user(directory, f"elsa.berg@{domain}")
    assert teacher["id"] and teacher["orgUnitPath"] == "/Skolor/Åby skola"
    with pytest.raises(HttpError) as dup:
        _user(directory, f"anna.lind@{domain}")
    assert dup.value.status_code == 409
    assert dup.value.error_details[0]["reason"] == "duplicate"

    found = directory.users().list(customer="my_customer", query="externalId=pupil-1").execute()
    assert len(found["users"]) == 3
    directory.users().patch(userKey=pupil["primaryEmail"], body={"suspended": True}).execute()
    assert directory.users().get(userKey=pupil["id"]).execute()["suspended"] is True
    directory.users().patch(userKey=pupil["primaryEmail"], body={"suspended": False}).execute()

    # a course whose alias holds a slash and a space: one segment on the raw path
    alias = "d:2026/HT MA1"
    course = (
        classroom.courses()
        .create(
            body={
                "id": alias,
                "name": "Matematik 1",
                "section": "HT 2026",
                "ownerId": teacher["id"],
            }
        )
        .execute()
    )
    assert course["courseState"] == "PROVISIONED"
    with pytest.raises(HttpError) as again:
        classroom.courses().create(
            body={"id": alias, "name": "Matematik 1", "ownerId": teacher["id"]}
        ).execute()
    assert again.value.status_code == 409
    assert classroom.courses().get(id=alias).execute()["id"] == course["id"]
    assert classroom.courses().aliases().list(courseId=course["id"]).execute() == {
        "aliases": [{"alias": alias}]
    }

    classroom.courses().teachers().create(
        courseId=alias, body={"userId": co_teacher["primaryEmail"]}
    ).execute()
    classroom.courses().students().create(
        courseId=alias, body={"userId": pupil["primaryEmail"]}
    ).execute()
    with pytest.raises(HttpError) as both:
        classroom.courses().teachers().create(
            courseId=alias, body={"userId": pupil["id"]}
        ).execute()
    assert both.value.status_code == 409
    teachers = classroom.courses().teachers().list(courseId=alias).execute()["teachers"]
    assert [t["profile"]["emailAddress"] for t in teachers] == [
        teacher["primaryEmail"],
        co_teacher["primaryEmail"],
    ]

    # the owner leaves: ownership to the co-teacher; naming them again is @UserAlreadyOwner
    patched = (
        classroom.courses()
        .patch(id=alias, updateMask="ownerId", body={"ownerId": co_teacher["primaryEmail"]})
        .execute()
    )
    assert patched["ownerId"] == co_teacher["id"]
    with pytest.raises(HttpError) as owner:
        classroom.courses().patch(
            id=alias, updateMask="ownerId", body={"ownerId": co_teacher["id"]}
        ).execute()
    assert json.loads(owner.value.content)["error"]["message"].startswith("@UserAlreadyOwner ")
    classroom.courses().teachers().delete(courseId=alias, userId=teacher["primaryEmail"]).execute()

    # archived, then nothing but the state may change
    classroom.courses().patch(
        id=alias, updateMask="courseState", body={"courseState": "ARCHIVED"}
    ).execute()
    with pytest.raises(HttpError) as frozen:
        classroom.courses().patch(id=alias, updateMask="name", body={"name": "Ny"}).execute()
    assert "@CourseNotModifiable " in json.loads(frozen.value.content)["error"]["message"]
    listed = classroom.courses().list(courseStates=["ARCHIVED"]).execute()
    assert [c["id"] for c in listed["courses"]] == [course["id"]]


def test_paging_follows_next_page_tokens(google_sandbox: GoogleSandbox) -> None:
    directory, classroom, _ = _services(google_sandbox)
    domain = google_sandbox.info.domain
    owner = _user(directory, f"owner@{domain}")
    course = (
        classroom.courses()
        .create(body={"id": "d:paging", "name": "P", "ownerId": owner["id"]})
        .execute()
    )
    pupils = [_user(directory, f"p{i:02d}@{domain}") for i in range(35)]
    for p in pupils:
        classroom.courses().students().create(
            courseId=course["id"], body={"userId": p["id"]}
        ).execute()
    seen: list[str] = []
    request = classroom.courses().students().list(courseId="d:paging")
    pages = 0
    while request is not None:
        response = request.execute()
        pages += 1
        seen.extend(s["userId"] for s in response.get("students", []))
        request = classroom.courses().students().list_next(request, response)
    assert pages == 2  # 30 a page by default
    assert seen == [p["id"] for p in pupils]
    users = []
    request = directory.users().list(customer="my_customer", maxResults=10)
    while request is not None:
        response = request.execute()
        users.extend(response["users"])
        request = directory.users().list_next(request, response)
    assert len(users) == 36 + len(google_sandbox.info.admin_subjects)


def test_a_batch_to_the_sandbox_batch_path_answers_each_part(
    google_sandbox: GoogleSandbox,
) -> None:
    info = google_sandbox.info
    directory, classroom, http = _services(google_sandbox)
    owner = _user(directory, f"owner@{info.domain}")
    pupils = [_user(directory, f"b{i}@{info.domain}") for i in range(3)]
    classroom.courses().create(body={"id": "d:B 1", "name": "B", "ownerId": owner["id"]}).execute()
    answers: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: HttpError | None) -> None:
        answers[request_id] = exception.status_code if exception else response

    batch = BatchHttpRequest(callback=done, batch_uri=info.batch_url)
    for i, p in enumerate(pupils):
        batch.add(
            classroom.courses().students().create(courseId="d:B 1", body={"userId": p["id"]}),
            request_id=f"s{i}",
        )
    batch.add(
        classroom.courses().students().create(courseId="d:missing", body={"userId": owner["id"]}),
        request_id="bad",
    )
    batch.execute(http=http)
    assert answers["bad"] == 404
    assert {answers[f"s{i}"]["userId"] for i in range(3)} == {p["id"] for p in pupils}
    stats = google_sandbox.stats()
    assert stats.batch_requests == 1 and stats.largest_batch == 4


def test_a_wrong_key_or_subject_is_refused_as_google_refuses_it(
    google_sandbox: GoogleSandbox, tmp_path: Any
) -> None:
    from google.auth.exceptions import RefreshError

    info = google_sandbox.info
    # a subject that is not an admin of the domain
    _, classroom, _ = _services(google_sandbox, f"nobody@{info.domain}")
    with pytest.raises(RefreshError) as subject:
        classroom.courses().list().execute()
    assert "invalid_grant" in str(subject.value) and "Invalid email or User ID" in str(
        subject.value
    )
    # the right key id and account, but another private key
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = json.loads(Path(info.key_file).read_text())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key["private_key"] = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(key))
    http = _http(google_sandbox, info.admin_subjects[0], str(forged))
    service = build("classroom", "v1", http=http, client_options={"api_endpoint": info.root_url})
    with pytest.raises(RefreshError) as signature:
        service.courses().list().execute()
    assert "Invalid JWT Signature." in str(signature.value)
