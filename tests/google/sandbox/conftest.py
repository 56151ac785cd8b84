"""One Google sandbox per test (it is cheap: an RSA key, a CA and a server thread)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from adapters.google.sandbox import GoogleSandbox, SandboxSettings


@pytest.fixture
def google_sandbox() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running
