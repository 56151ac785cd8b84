"""Fixtures of the Google target's tests: a sandbox per test (an RSA key, a CA and a server
thread: cheap) and a working folder whose ess.toml points a tenant at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from tests.google.test_google_end_to_end import KEY_ENV, write_config


@pytest.fixture
def sandbox() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path, sandbox: GoogleSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, Path(sandbox.info.key_file).read_text())
    write_config(tmp_path, sandbox)
    return tmp_path
