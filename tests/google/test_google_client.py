"""The Google client against the sandbox over HTTPS: batches by API and size, throttled parts
sent again alone and never before their Retry-After, calls spread over the admin subjects,
writes answered 5xx left to the engine, and every answer classified."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.google import calls
from adapters.google.auth import DelegatedToken, GoogleTenantError
from adapters.google.client import GoogleClient
from adapters.google.errors import Kind
from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from adapters.kit.http import HttpClient
from adapters.kit.retry import Backoff


@pytest.fixture
def sandbox() -> Any:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running


def _client(sandbox: GoogleSandbox, subjects: int = 1) -> GoogleClient:
    info = sandbox.info
    key = json.loads(Path(info.key_file).read_text())
    tokens = [
        DelegatedToken(key, subject, ca_path=info.ca_path)
        for subject in info.admin_subjects[:subjects]
    ]
    http = HttpClient(
        timeout_s=30,
        verify=ssl.create_default_context(cafile=info.ca_path),
        backoff=Backoff(base_s=0.01, cap_s=0.1),
    )
    return GoogleClient(info.root_url, tokens, http, batch_url=info.batch_url)


@pytest.fixture
async def client(sandbox: GoogleSandbox) -> AsyncIterator[GoogleClient]:
    made = _client(sandbox)
    yield made
    await made.http.aclose()


def _user(email: str) -> dict[str, Any]:
    return {
        "primaryEmail": email,
        "name": {"givenName": "G", "familyName": "F"},
        "password": "p" * 12,
    }


async def _people(client: GoogleClient, domain: str, count: int) -> list[str]:
    emails = [f"u{i}@{domain}" for i in range(count)]
    answers = await client.batch([calls.insert_user(_user(e)) for e in emails])
    assert all(a.ok for a in answers)
    return emails


async def test_throttled_parts_are_sent_again_alone_after_their_retry_after(
    sandbox: GoogleSandbox, client: GoogleClient
) -> None:
    domain = sandbox.info.domain
    owner = (await _people(client, domain, 1))[0]
    sandbox.update_settings(classroom_per_user_per_min=5, time_scale=0.03)
    creates = [
        calls.create_course({"id": f"d:c{i}", "name": f"C{i}", "ownerId": owner}) for i in range(12)
    ]
    answers = await client.batch(creates)
    assert [a.status for a in answers] == [200] * 12
    stats = sandbox.stats()
    assert stats.throttled > 0
    assert stats.early_retries == 0  # nothing sent before its Retry-After
    assert client.stats.resent == stats.throttled
    assert len(sandbox.state()["courses"]) == 12


async def test_batches_are_split_by_api_and_by_the_batch_limits(
    sandbox: GoogleSandbox, client: GoogleClient
) -> None:
    domain = sandbox.info.domain
    people = await _people(client, domain, 121)
    owner, pupils = people[0], people[1:]
    course = await client.call(calls.create_course({"id": "d:big", "name": "B", "ownerId": owner}))
    assert course.ok
    sandbox.reset_stats()
    answers = await client.batch(
        [calls.add_member("d:big", "students", p) for p in pupils]
        + [calls.get_user(p) for p in pupils[:3]]
    )
    assert all(a.ok for a in answers)
    stats = sandbox.stats()
    assert stats.batch_requests == 4  # 50 + 50 + 20 Classroom, 3 Directory, never mixed
    assert stats.largest_batch == 50
    assert stats.calls == client.stats.calls - 121 - 1  # each part counted once
    assert len(sandbox.state()["courses"][0]["students"]) == 120


async def test_calls_are_spread_over_the_admin_subjects(sandbox: GoogleSandbox) -> None:
    client = _client(sandbox, subjects=3)
    try:
        for _ in range(6):
            assert (await client.call(calls.list_courses())).ok
    finally:
        await client.http.aclose()
    assert [t.refreshes for t in client.tokens] == [1, 1, 1]


async def test_a_write_answered_5xx_is_not_sent_again(
    sandbox: GoogleSandbox, client: GoogleClient
) -> None:
    owner = (await _people(client, sandbox.info.domain, 1))[0]
    sandbox.reset_stats()
    sandbox.update_settings(fault_rate=1.0, fault_kinds=("applied_5xx",))
    [answer] = await client.batch(
        [calls.create_course({"id": "d:x", "name": "X", "ownerId": owner})]
    )
    assert answer.status >= 500 and answer.verdict.kind is Kind.RETRY
    assert sandbox.stats().calls == 1  # left to the engine, which reads back by the alias
    sandbox.update_settings(fault_rate=0.0)
    again = await client.call(calls.create_course({"id": "d:x", "name": "X", "ownerId": owner}))
    assert again.verdict.kind is Kind.ADOPT
    assert (await client.call(calls.get_course("d:x"))).body["name"] == "X"


async def test_answers_are_classified(sandbox: GoogleSandbox, client: GoogleClient) -> None:
    domain = sandbox.info.domain
    owner, co, pupil, other = await _people(client, domain, 4)
    sandbox.update_settings(course_member_limit=2)
    assert (await client.call(calls.create_course({"id": "d:k", "name": "K", "ownerId": owner}))).ok
    assert (await client.call(calls.add_member("d:k", "teachers", co))).ok
    full = await client.call(calls.add_member("d:k", "students", pupil))
    assert full.verdict.kind is Kind.FIX_DATA
    assert full.verdict.code == "CourseMemberLimitReached"
    already = await client.call(calls.patch_course("d:k", {"ownerId": owner}))
    assert already.verdict.kind is Kind.ADOPT and already.verdict.code == "UserAlreadyOwner"
    missing = await client.call(calls.get_course("d:none"))
    assert missing.verdict.kind is Kind.NOT_FOUND
    sandbox.update_settings(classroom_api_enabled=False)
    off = await client.call(calls.list_courses())
    assert off.verdict.kind is Kind.TENANT
    assert "Classroom > Data access" in off.verdict.describe()
    sandbox.update_settings(classroom_api_enabled=True)
    sandbox.update_settings(directory_per_user_per_min=1, time_scale=0.01)
    answers = await client.batch([calls.get_user(other), calls.get_user(owner)])
    assert [a.status for a in answers] == [200, 200]


async def test_a_refused_subject_or_scope_is_one_clear_tenant_error(
    sandbox: GoogleSandbox,
) -> None:
    info = sandbox.info
    key = json.loads(Path(info.key_file).read_text())
    stranger = DelegatedToken(key, f"nobody@{info.domain}", ca_path=info.ca_path)
    with pytest.raises(GoogleTenantError, match="admin subject"):
        await stranger.header()
    sandbox.update_settings(
        delegated_scopes=("https://www.googleapis.com/auth/admin.directory.user",)
    )
    admin = DelegatedToken(key, info.admin_subjects[0], ca_path=info.ca_path)
    with pytest.raises(GoogleTenantError, match="Domain-wide delegation") as refused:
        await admin.header()
    assert refused.value.verdict.kind is Kind.TENANT


async def test_a_new_user_not_yet_known_to_classroom_is_asked_for_again(
    sandbox: GoogleSandbox,
) -> None:
    client = _client(sandbox)
    client.not_found_schedule_s = (0.2, 0.2, 0.2, 0.2)
    try:
        sandbox.update_settings(new_user_not_found_s=30.0, time_scale=0.01)  # 0.3 s
        [owner] = await _people(client, sandbox.info.domain, 1)
        created = await client.call(
            calls.create_course({"id": "d:n", "name": "N", "ownerId": owner}), fresh=True
        )
        assert created.ok
        pupil = f"late@{sandbox.info.domain}"
        assert (await client.call(calls.insert_user(_user(pupil)))).ok
        [added] = await client.batch(
            [calls.add_member("d:n", "students", pupil)], fresh=frozenset({0})
        )
        assert added.ok
        stale = await client.call(calls.get_course("d:gone"))
        assert stale.verdict.kind is Kind.NOT_FOUND  # not fresh: a 404 is a verdict at once
    finally:
        await client.http.aclose()
    assert client.stats.resent >= 2  # the create, and the batch part


async def test_a_list_follows_every_page_and_a_failed_page_is_no_whole_list(
    sandbox: GoogleSandbox, client: GoogleClient
) -> None:
    from adapters.google.client import ListFailed

    people = await _people(client, sandbox.info.domain, 41)
    owner, pupils = people[0], people[1:]
    assert (await client.call(calls.create_course({"id": "d:L", "name": "L", "ownerId": owner}))).ok
    assert all(
        a.ok for a in await client.batch([calls.add_member("d:L", "students", p) for p in pupils])
    )
    students = await client.list_all(
        lambda token: calls.list_members("d:L", "students", page_token=token), "students"
    )
    assert [s["profile"]["emailAddress"] for s in students] == pupils  # 30 + 10
    users = await client.list_all(
        lambda token: calls.list_users(page_token=token, page_size=7), "users"
    )
    assert len(users) == 41 + len(sandbox.info.admin_subjects)
    sandbox.update_settings(
        directory_per_user_per_min=2, time_scale=10.0
    )  # the 3rd page is refused
    client.http.backoff.attempts = 1
    with pytest.raises(ListFailed, match="userRateLimitExceeded"):
        await client.list_all(
            lambda token: calls.list_users(page_token=token, page_size=7), "users"
        )


async def test_a_429_holds_every_later_request_of_that_subject_until_its_retry_after(
    sandbox: GoogleSandbox,
) -> None:
    info = sandbox.info
    key = json.loads(Path(info.key_file).read_text())
    http = HttpClient(
        timeout_s=30,
        verify=ssl.create_default_context(cafile=info.ca_path),
        backoff=Backoff(attempts=1),  # the kit sends nothing again: the 429 comes back
    )
    client = GoogleClient(
        info.root_url,
        [DelegatedToken(key, info.admin_subjects[0], ca_path=info.ca_path)],
        http,
        batch_url=info.batch_url,
    )
    try:
        sandbox.update_settings(classroom_per_user_per_min=1, time_scale=0.05)
        assert (await client.call(calls.list_courses())).status == 200
        refused = await client.call(calls.list_courses())
        assert refused.status == 429
        # another request of the same subject, in a batch this time: it waits the Retry-After
        answers = await client.batch([calls.list_courses()])
        assert [a.status for a in answers] == [200]
        assert sandbox.stats().early_retries == 0
    finally:
        await http.aclose()
