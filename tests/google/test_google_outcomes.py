"""Google answers, taken from the sandbox, as the engine's outcomes: a create answered 5xx is
in doubt, every other 5xx and a throttled call are retried, 409 and @UserAlreadyOwner are done
(adopted), data the service refuses is a failure, a tenant not set up is fatal."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.google import calls
from adapters.google.auth import DelegatedToken
from adapters.google.client import GoogleClient
from adapters.google.outcomes import no_answer, outcome
from adapters.google.sandbox import GoogleSandbox
from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.retry import Backoff
from engine.target import OutcomeKind


@pytest.fixture
def sandbox() -> Any:
    with GoogleSandbox() as running:
        yield running


async def test_answers_become_the_engines_outcomes(sandbox: GoogleSandbox) -> None:
    info = sandbox.info
    key = json.loads(Path(info.key_file).read_text())
    http = HttpClient(
        timeout_s=30,
        verify=ssl.create_default_context(cafile=info.ca_path),
        backoff=Backoff(attempts=1),
    )
    client = GoogleClient(
        info.root_url, [DelegatedToken(key, info.admin_subjects[0], ca_path=info.ca_path)], http
    )
    try:
        user = {
            "primaryEmail": f"t@{info.domain}",
            "name": {"givenName": "T", "familyName": "L"},
            "password": "p" * 12,
        }
        made = outcome(await client.call(calls.insert_user(user)), creates=True)
        assert made.kind is OutcomeKind.DONE and made.target_id
        again = outcome(await client.call(calls.insert_user(user)), creates=True)
        assert again.kind is OutcomeKind.DONE and again.adopted
        create = calls.create_course({"id": "d:o", "name": "O", "ownerId": user["primaryEmail"]})
        sandbox.update_settings(fault_rate=1.0, fault_kinds=("applied_5xx",))
        doubt = outcome(await client.call(create), creates=True)
        assert doubt.kind is OutcomeKind.IN_DOUBT
        patch = calls.patch_course("d:o", {"name": "P"})
        assert outcome(await client.call(patch), creates=False).kind is OutcomeKind.RETRY
        sandbox.update_settings(fault_rate=0.0, course_member_limit=1)
        owner_again = calls.patch_course("d:o", {"ownerId": user["primaryEmail"]})
        adopted = outcome(await client.call(owner_again), creates=False)
        assert adopted.kind is OutcomeKind.DONE and adopted.adopted
        full = outcome(
            await client.call(calls.add_member("d:o", "students", info.admin_subjects[1])),
            creates=False,
        )
        assert full.kind is OutcomeKind.FAILED and full.reason == "CourseMemberLimitReached"
        sandbox.update_settings(classroom_per_user_per_min=1, time_scale=0.05)
        # the calls above used the minute's quota: the next is refused (and the one after it
        # would wait out the Retry-After, as every request of this subject now does)
        throttled = outcome(await client.call(calls.list_courses()), creates=False)
        assert throttled.kind is OutcomeKind.RETRY and throttled.reason == "throttled"
        sandbox.update_settings(classroom_per_user_per_min=1200, classroom_api_enabled=False)
        await http.sleep(0.1)
        fatal = outcome(await client.call(calls.list_courses()), creates=False)
        assert fatal.kind is OutcomeKind.FATAL and "Data access" in fatal.message
    finally:
        await http.aclose()


def test_no_answer_to_a_create_is_in_doubt_unless_it_never_left() -> None:
    timeout = NoAnswer("timeout", "POST v1/courses", 1, httpx.ReadTimeout("t"))
    unreachable = NoAnswer("unreachable", "POST v1/courses", 1, httpx.ConnectError("c"))
    assert no_answer(timeout, creates=True).kind is OutcomeKind.IN_DOUBT
    assert no_answer(timeout, creates=False).kind is OutcomeKind.RETRY
    assert no_answer(unreachable, creates=True).kind is OutcomeKind.RETRY
