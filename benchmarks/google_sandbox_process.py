"""The Google sandbox in a process of its own, for the apply benchmark.

In the benchmark's own process the sandbox's work (parsing batches, keeping the state, the
quotas) shares the interpreter with ESS, and at a fast clock it is the larger part: the run
then measures one process doing both jobs, not ESS. In a child process it is Google's cost, as
it is in production. The parent reads the counters and the state through the sandbox's
``/_sandbox`` inspection endpoints (loopback, no token), so this offers what the benchmark uses
of :class:`~adapters.google.sandbox.GoogleSandbox`: ``info``, ``stats()``, ``reset_stats()``
and ``state()``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any, Self

import httpx

from adapters.google.sandbox import GoogleSandbox, SandboxInfo, SandboxSettings, SandboxStats

START_TIMEOUT_S = 60.0


def _serve(settings: SandboxSettings, pipe: Connection) -> None:
    """The child: start the sandbox, hand back its info, serve until told to stop."""
    with GoogleSandbox(settings=settings) as sb:
        pipe.send(sb.info)
        pipe.recv()  # anything, or the parent gone (EOFError): stop


class SandboxProcess:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(settings, child), daemon=True)
        self._child_end = child
        self._info: SandboxInfo | None = None
        self._http: httpx.Client | None = None

    def __enter__(self) -> Self:
        self._process.start()
        self._child_end.close()
        if not self._pipe.poll(START_TIMEOUT_S):
            self._process.kill()
            raise RuntimeError("the Google sandbox process did not start")
        self._info = self._pipe.recv()
        self._http = httpx.Client(base_url=self.info.inspect_url, verify=self.info.ca_path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._http is not None:
            self._http.close()
        with contextlib.suppress(OSError):
            self._pipe.send("stop")
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    @property
    def info(self) -> SandboxInfo:
        if self._info is None:
            raise RuntimeError("the sandbox process is not started")
        return self._info

    def _client(self) -> httpx.Client:
        if self._http is None:
            raise RuntimeError("the sandbox process is not started")
        return self._http

    def stats(self) -> SandboxStats:
        got = self._client().get("/stats", timeout=30).raise_for_status().json()
        got["by_status"] = {int(k): v for k, v in got.get("by_status", {}).items()}
        return SandboxStats(**got)

    def reset_stats(self) -> None:
        self._client().post("/stats/reset", timeout=30).raise_for_status()

    def state(self) -> dict[str, Any]:
        answer = self._client().get("/state", timeout=300).raise_for_status()
        return dict(answer.json())
