"""A local stand-in for Tieto's Organization API (IMS Enterprise, v12) for tests, demos and
benchmarks.

It serves the synthetic municipality (the one ``ess sample generate`` writes in every format)
as a complete export over HTTPS on loopback, as Tieto's integration servers do: a client
certificate is required for the handshake (trustme certificates, a CA made for this run) and
the API key is checked on each request. The kit's throttling, latency and injected faults
apply, and the municipality can move a term or a year on while it runs
(``POST /_sandbox/advance``).
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.ims.sandbox.app import COMPLETE_PATH, DELTA_PATH, Service
from adapters.ims.sandbox.settings import SandboxInfo, SandboxSettings
from adapters.ims.writer import write_complete, write_delta
from adapters.kit.sandbox import SandboxError, SandboxServer, make_tls
from adapters.kit.sandbox.municipality import Municipality, MunicipalitySandbox, advance_endpoint
from engine.model import Snapshot

__all__ = ["ImsSandbox", "SandboxInfo", "SandboxSettings"]


class ImsSandbox(MunicipalitySandbox[SandboxInfo, SandboxSettings]):
    """The Organization API serving the municipality of ``size``, ``seed`` and ``as_of``
    (the sample generator's; ``as_of`` None: today)."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-ims-sandbox-"

    def _configure(self) -> None:
        self.settings.check()
        self._lock = threading.Lock()
        self.api_key = secrets.token_urlsafe(24)
        self._document = b""
        self._snapshot: Snapshot | None = None
        self._history: list[tuple[datetime, Snapshot]] = []  # each served state, from when
        self.service = Service(
            lambda: self.settings,
            lambda: self._document,
            self.delta,
            self.api_key,
            advance_endpoint(self.advance),
            self.describe,
        )

    # -- the municipality -----------------------------------------------------------------

    @property
    def _seed_dir(self) -> Path:
        return self._workdir.path / "municipality"

    def _publish(self, snap: Snapshot) -> None:
        path = self._workdir.path / "complete.xml"
        write_complete(snap, path)
        self._document = path.read_bytes()
        self._snapshot = snap
        self._history.append((datetime.now(UTC), snap))

    def delta(self, since: datetime) -> bytes | None:
        """A delta export from the state served at ``since`` to the one served now (from the
        first state when ``since`` is before it: a client cannot have read anything older, and
        its mark, the ``Date`` of an answer, is rounded down to the second); None before the
        sandbox serves anything."""
        with self._lock:
            if not self._history or self._snapshot is None:
                return None
            before = [snap for moment, snap in self._history if moment <= since]
            base = before[-1] if before else self._history[0][1]
            path = self._workdir.path / "delta.xml"
            write_delta(base, self._snapshot, path)
            return path.read_bytes()

    def _generate(self) -> None:
        self._publish(self.municipality.generate(self._seed_dir))

    @property
    def snapshot(self) -> Snapshot:
        """The municipality as served now (as the SS 12000 source reads it)."""
        if self._snapshot is None:
            raise SandboxError("the sandbox is not started")
        return self._snapshot

    def advance(self, kind: str = "term", as_of: date | None = None) -> dict[str, Any]:
        """Move the municipality a term or a year on and serve it."""
        with self._lock:
            after = Municipality.advance(self._seed_dir, kind, as_of)
            self._publish(after)
        return {"as_of": Municipality.day(self._seed_dir), **after.counts()}

    def remove_persons(self, person_ids: list[str]) -> None:
        """Serve the municipality without these persons: how a test makes the source shrink."""
        with self._lock:
            self._publish(self.snapshot.without(persons=person_ids))

    def describe(self) -> dict[str, Any]:
        """``GET /_sandbox/state``: what is served now."""
        return {"as_of": Municipality.day(self._seed_dir), **self.snapshot.counts()}

    # -- server ---------------------------------------------------------------------------

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        if self._snapshot is None:
            self._or_stop(self._generate)
        tls = make_tls(self._workdir.path / "tls", (self.host,), "ESS IMS sandbox")
        client_cert = tls.issue_client_cert("ess-integration.example")
        server = SandboxServer(
            self.service.chaos,
            host=self.host,
            port=self.port,
            tls=tls,
            require_client_cert=True,
            name="ims-sandbox",
        )
        self._server = server  # so that stop() frees the port and the folder if start fails
        root = self._or_stop(server.start, SandboxError)
        self._info = SandboxInfo(
            urls=(root + COMPLETE_PATH,),
            delta_url=root + DELTA_PATH,
            api_key=self.api_key,
            api_key_header=self.settings.api_key_header,
            ca_cert=str(tls.ca_path),
            client_cert=str(client_cert),
            inspect_url=root + "/_sandbox",
        )
        return self._info

    def stop(self) -> None:
        super().stop()
        self._snapshot = None
        self._history = []
