"""A municipality's life against the Microsoft 365 sandbox over HTTPS on loopback: the same
machine as tests/reliability/test_life_memory.py, smaller (fewer pupils, examples and steps),
with the sandbox's faults (5xx, applied-then-5xx, timeouts, a visibility window)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from adapters.microsoft.sandbox import MicrosoftSandbox
from tests.microsoft.ms_support import SECRET_ENV
from tests.reliability.life import MunicipalityLife, run_life
from tests.reliability.microsoft_kit import MicrosoftKit
from tests.reliability.targets import TargetKit


class MicrosoftLife(MunicipalityLife):
    pupils = 12
    teachers = 2
    sandbox: ClassVar[MicrosoftSandbox]

    @staticmethod
    def make_kit(base: Path) -> TargetKit:
        return MicrosoftKit(MicrosoftLife.sandbox, base)


@pytest.fixture
def life_on_sandbox(
    ms_sandbox_for_reliability: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch
) -> type[MicrosoftLife]:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox_for_reliability.info.client_secret)
    MicrosoftLife.sandbox = ms_sandbox_for_reliability
    return MicrosoftLife


def test_municipality_life_on_microsoft_sandbox(life_on_sandbox: type[MicrosoftLife]) -> None:
    run_life(life_on_sandbox, 4, 10)


@pytest.mark.reliability_long
def test_municipality_life_on_microsoft_sandbox_long(
    life_on_sandbox: type[MicrosoftLife],
) -> None:
    run_life(life_on_sandbox, 30, 20)
