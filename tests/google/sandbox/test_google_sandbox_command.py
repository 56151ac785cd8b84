"""``ess sandbox google --json``: one line that is enough for google-api-python-client to
build both services against the sandbox and call them; a clean stop on cancel; a bad setting
refused before anything starts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build

from adapters.google.sandbox.command import SANDBOX
from adapters.kit.sandbox import SettingsError
from engine.plugins import SandboxCommand, SandboxOptions


async def _serve(options: SandboxOptions) -> tuple[asyncio.Task[None], list[str]]:
    lines: list[str] = []
    announced = asyncio.Event()

    def emit(text: str) -> None:
        lines.append(text)
        announced.set()

    task = asyncio.create_task(SANDBOX.serve(options, emit))
    await asyncio.wait_for(announced.wait(), timeout=30)
    return task, lines


def _use_it(fields: dict[str, Any]) -> tuple[str, list[str]]:
    """What a client library user does with the JSON line alone."""
    creds = service_account.Credentials.from_service_account_file(
        fields["key_file"],
        scopes=[
            "https://www.googleapis.com/auth/admin.directory.user",
            "https://www.googleapis.com/auth/classroom.courses",
        ],
    ).with_subject(fields["admin_subjects"][-1])
    http = google_auth_httplib2.AuthorizedHttp(
        creds, http=httplib2.Http(ca_certs=fields["ca_path"])
    )
    options = {"api_endpoint": fields["root_url"]}
    directory = build("admin", "directory_v1", http=http, client_options=options)
    classroom = build("classroom", "v1", http=http, client_options=options)
    me = directory.users().get(userKey=fields["admin_subjects"][-1]).execute()
    classroom.courses().create(body={"id": "d:x", "name": "X", "ownerId": "me"}).execute()
    owned = classroom.courses().list(teacherId=me["id"]).execute()
    return me["primaryEmail"], [c["name"] for c in owned["courses"]]


async def test_the_json_line_is_enough_for_the_client_library() -> None:
    assert isinstance(SANDBOX, SandboxCommand)
    task, lines = await _serve(SandboxOptions(json_output=True, extra={"admins": "2"}))
    try:
        assert len(lines) == 1 and "\n" not in lines[0]
        fields = json.loads(lines[0])
        assert {"token_uri", "root_url", "admin_subjects", "key_file", "ca_path"} <= set(fields)
        assert len(fields["admin_subjects"]) == 2
        email, names = await asyncio.to_thread(_use_it, fields)
        assert email == fields["admin_subjects"][-1]
        assert names == ["X"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_banner_names_the_connection_facts() -> None:
    task, lines = await _serve(SandboxOptions())
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    text = lines[0]
    for fact in ("root URL", "token URI", "admin subjects", "key file", "CA certificate"):
        assert fact in text


async def test_an_unknown_setting_is_refused_before_it_starts() -> None:
    with pytest.raises(SettingsError, match="no_such"):
        await SANDBOX.serve(SandboxOptions(extra={"no_such": "1"}), lambda text: None)
