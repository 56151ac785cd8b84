"""Fixtures for the Microsoft 365 target tests: one sandbox server per session, emptied for each
test, and a target wired to it with a client secret through MSAL."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ms_support import build_target

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings
from adapters.microsoft.target import MicrosoftTarget


def quiet_settings(**changes: float) -> SandboxSettings:
    settings = SandboxSettings(team_operation_delay_s=0.05)
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture(scope="session")
def ms_shared_sandbox() -> Iterator[MicrosoftSandbox]:
    with MicrosoftSandbox(settings=quiet_settings()) as running:
        yield running


@pytest.fixture
def ms_sandbox(ms_shared_sandbox: MicrosoftSandbox) -> MicrosoftSandbox:
    ms_shared_sandbox.reset(quiet_settings())
    return ms_shared_sandbox


@pytest.fixture
async def ms_target(ms_sandbox: MicrosoftSandbox) -> AsyncIterator[MicrosoftTarget]:
    target = build_target(ms_sandbox.info)
    yield target
    await target.aclose()
