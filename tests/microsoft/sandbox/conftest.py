"""Fixtures for the Microsoft 365 sandbox tests: a running sandbox, a token and a Graph client."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
from ms_support import app_token

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxInfo, SandboxSettings


def test_settings() -> SandboxSettings:
    return SandboxSettings(team_operation_delay_s=0.0)


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[MicrosoftSandbox]:
    """One server for the whole run; each test gets it emptied (``reset``)."""
    with MicrosoftSandbox(settings=test_settings()) as running:
        yield running


@pytest.fixture
def sandbox(shared_sandbox: MicrosoftSandbox) -> MicrosoftSandbox:
    shared_sandbox.reset(test_settings())
    return shared_sandbox


@pytest.fixture
def info(sandbox: MicrosoftSandbox) -> SandboxInfo:
    return sandbox.info


@pytest.fixture
def tls(info: SandboxInfo) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=info.ca_path)


@pytest.fixture
def msal_session(info: SandboxInfo) -> Iterator[requests.Session]:
    """What MSAL needs: requests lets REQUESTS_CA_BUNDLE override ``session.verify`` unless
    ``trust_env`` is off."""
    session = requests.Session()
    session.trust_env = False
    session.verify = info.ca_path
    yield session
    session.close()


@pytest.fixture
def token(info: SandboxInfo, tls: ssl.SSLContext) -> str:
    return app_token(info, tls)


@pytest.fixture
async def graph(
    info: SandboxInfo, tls: ssl.SSLContext, token: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=info.graph_url + "/",
        verify=tls,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ) as client:
        yield client


UserFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_user(graph: httpx.AsyncClient) -> UserFactory:
    counter = iter(range(1, 10_000))

    async def create(**extra: Any) -> dict[str, Any]:
        n = next(counter)
        body = {
            "accountEnabled": True,
            "displayName": f"Elev {n}",
            "mailNickname": f"elev{n}",
            "userPrincipalName": f"elev{n}@skola.example",
            "passwordProfile": {"password": "Sandbox-Pass-1"},
            **extra,
        }
        response = await graph.post("users", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


ClassFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_class(graph: httpx.AsyncClient) -> ClassFactory:
    counter = iter(range(1, 10_000))

    async def create(**extra: Any) -> dict[str, Any]:
        n = next(counter)
        body = {
            "displayName": f"2025 Klass {n}",
            "mailNickname": f"klass{n}_2025",
            "externalId": f"class-{n}",
            "externalName": f"Klass {n}",
            "externalSource": "sis",
            **extra,
        }
        response = await graph.post("education/classes", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create
