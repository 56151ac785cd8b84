"""Fixtures for first sign-in: the Microsoft sandbox (one per session, emptied per test) and a
staff member's age key pair."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "microsoft"))

from adapters.microsoft.sandbox import MicrosoftSandbox, SandboxSettings


@pytest.fixture(scope="session")
def fs_sandbox() -> Iterator[MicrosoftSandbox]:
    with MicrosoftSandbox(settings=SandboxSettings(team_operation_delay_s=0.05)) as running:
        yield running


@pytest.fixture
def ms_sandbox(fs_sandbox: MicrosoftSandbox) -> MicrosoftSandbox:
    fs_sandbox.reset(SandboxSettings(team_operation_delay_s=0.05))
    return fs_sandbox


@pytest.fixture(scope="session")
def staff_key() -> pyrage.x25519.Identity:
    return pyrage.x25519.Identity.generate()
