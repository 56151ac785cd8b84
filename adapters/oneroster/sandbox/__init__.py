"""A local OneRoster 1.2 rostering server (REST, v1p2) for tests, demos and benchmarks.

It serves the synthetic municipality (the one ``ess sample generate`` writes in every format)
over HTTPS on loopback with OAuth2 client credentials, limit/offset paging with
``X-Total-Count`` and links, ``filter=dateLastModified>'…'`` and ``status = tobedeleted`` for
what a term removed, and the kit's throttling, latency and injected faults. It can advance
the municipality a term or a year while it runs (``POST /_sandbox/advance``); what changed is
stamped with the server's clock, as a real server would.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.kit.sandbox import SandboxError, make_tls
from adapters.kit.sandbox.municipality import Municipality, MunicipalitySandbox, advance_endpoint
from adapters.oneroster.sandbox.app import BASE_PATH, TOKEN_PATH, Service
from adapters.oneroster.sandbox.objects import package_objects
from adapters.oneroster.sandbox.settings import SandboxInfo, SandboxSettings
from adapters.oneroster.sandbox.store import Store
from adapters.oneroster.writer import write_package
from engine.model import Snapshot

__all__ = ["OneRosterSandbox", "SandboxInfo", "SandboxSettings"]

CLIENT_ID = "ess-oneroster"


class OneRosterSandbox(MunicipalitySandbox[SandboxInfo, SandboxSettings]):
    """A OneRoster 1.2 rostering server serving the municipality of ``size``, ``seed`` and
    ``as_of`` (the sample generator's; ``as_of`` None: today)."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-oneroster-sandbox-"

    def _configure(self) -> None:
        self.settings.check()
        self._lock = threading.Lock()
        self.store = Store()
        self.client_secret = secrets.token_urlsafe(24)
        self.service = Service(
            lambda: self.settings,
            self.store,
            CLIENT_ID,
            self.client_secret,
            advance_endpoint(self.advance),
            self.describe,
        )
        self._snapshot: Snapshot | None = None

    # -- the municipality -----------------------------------------------------------------

    @property
    def _seed_dir(self) -> Path:
        return self._workdir.path / "municipality"

    def _publish(self, snap: Snapshot) -> dict[str, int]:
        folder = self._workdir.path / "package"
        for old in folder.glob("*.csv"):
            old.unlink()
        write_package(snap, folder)
        self._snapshot = snap
        return self.store.publish(package_objects(folder, BASE_PATH), datetime.now(UTC))

    def _generate(self) -> None:
        self._publish(self.municipality.generate(self._seed_dir))

    @property
    def snapshot(self) -> Snapshot:
        """The municipality as served now (as the SS 12000 source reads it)."""
        if self._snapshot is None:
            raise SandboxError("the sandbox is not started")
        return self._snapshot

    def advance(self, kind: str = "term", as_of: date | None = None) -> dict[str, Any]:
        """Move the municipality a term or a year on and serve it; what changed, counted."""
        with self._lock:
            after = Municipality.advance(self._seed_dir, kind, as_of)
            changes = self._publish(after)
        return {"as_of": Municipality.day(self._seed_dir), **after.counts(), **changes}

    def remove_persons(self, person_ids: list[str]) -> dict[str, int]:
        """Serve the municipality without these persons (their users become ``tobedeleted``):
        how a test makes the source shrink."""
        with self._lock:
            changes = self._publish(self.snapshot.without(persons=person_ids))
        return changes

    def describe(self) -> dict[str, Any]:
        """``GET /_sandbox/state``: what is served now."""
        return {
            "as_of": Municipality.day(self._seed_dir),
            "active": {n: self.store.count(n) for n in ("orgs", "classes", "users", "enrollments")},
            "tobedeleted": {
                n: self.store.count(n, active=False) - self.store.count(n)
                for n in ("orgs", "classes", "users", "enrollments")
            },
        }

    # -- server ---------------------------------------------------------------------------

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        if self._snapshot is None:
            self._or_stop(self._generate)
        tls = make_tls(self._workdir.path / "tls", (self.host,), "ESS OneRoster sandbox")
        server, root = self._bind(tls, "oneroster-sandbox")
        self._or_stop(lambda: server.start(self.service.chaos), SandboxError)
        self._info = SandboxInfo(
            base_url=root,
            token_url=root + TOKEN_PATH,
            client_id=CLIENT_ID,
            client_secret=self.client_secret,
            ca_cert=str(tls.ca_path),
            inspect_url=root + "/_sandbox",
        )
        return self._info

    def stop(self) -> None:
        super().stop()
        self._snapshot = None
        self.store = self.service.store = Store()
