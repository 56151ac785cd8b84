"""MicrosoftSandbox: the emulator served over TLS on loopback by the kit's server thread.

``start`` returns once the socket is listening; the sandbox works the same from sync tests, async
tests and the ``ess sandbox microsoft`` command.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import uuid
from typing import Any

from adapters.kit.sandbox import ConfiguredSandbox, SandboxError, make_tls

from .app import build_app
from .certs import write_client_cert
from .entra import AppRegistration, Entra
from .odata import TokenCodec
from .pipeline import GraphService
from .settings import SandboxInfo, SandboxSettings, SandboxStats
from .store import Store

DOMAIN = "sandbox.onmicrosoft.com"

__all__ = ["DOMAIN", "MicrosoftSandbox", "SandboxError"]


class MicrosoftSandbox(ConfiguredSandbox[SandboxInfo, SandboxSettings]):
    """A local Entra token endpoint + Microsoft Graph v1.0 over HTTPS on loopback."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-ms-sandbox-"

    def _configure(self) -> None:
        self._service: GraphService | None = None

    def _settings_changed(self, value: SandboxSettings) -> None:
        if self._service is not None:
            self._service.settings = value

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        folder = self._workdir.path
        tls = make_tls(folder, (self.host,), "ESS sandbox")
        client_cert = write_client_cert(folder)
        ids = random.Random(f"ess-tenant-{self.settings.seed}")
        tenant_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        client_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        client_secret = "ess~" + secrets.token_urlsafe(30)

        server, base = self._bind(tls, "microsoft-sandbox")
        app_reg = AppRegistration(tenant_id, client_id, client_secret, client_cert.certificate)
        entra = Entra(
            app_reg, base, secrets.token_bytes(32), lambda: self.settings.granted_permissions
        )
        self._service = GraphService(
            Store(self.settings.seed),
            self.settings,
            TokenCodec(secrets.token_bytes(32)),
            f"{base}/v1.0",
            DOMAIN,
        )
        app = build_app(self._service, entra, lambda: {"tenant_id": tenant_id})
        self._or_stop(lambda: server.start(app), SandboxError)
        self._info = SandboxInfo(
            authority=f"{base}/{tenant_id}",
            graph_url=f"{base}/v1.0",
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            client_cert_path=str(client_cert.path),
            client_cert_thumbprint=client_cert.thumbprint_sha1,
            ca_path=str(tls.ca_path),
            inspect_url=f"{base}/_sandbox",
        )
        return self._info

    # inspection and drift -----------------------------------------------------------------

    def _require_service(self) -> GraphService:
        if self._service is None:
            raise SandboxError("the sandbox is not started")
        return self._service

    def state(self) -> dict[str, Any]:
        """The same JSON as ``GET /_sandbox/state``."""
        return {"tenant_id": self.info.tenant_id, **self._require_service().state()}

    def stats(self) -> SandboxStats:
        return self._require_service().stats()

    def reset_stats(self) -> None:
        self._require_service().reset_stats()

    def reset(self, settings: SandboxSettings | None = None) -> None:
        """Empty the tenant and zero the counters, keeping the server, credentials and tokens.

        With ``settings``, their values are copied into the live settings object first."""
        if settings is not None:
            for item in dataclasses.fields(settings):
                setattr(self._settings, item.name, getattr(settings, item.name))
        self._require_service().reset()

    def sign_in(self, upn: str, password: str) -> str:
        """Check a user's password: "ok", "change" (must change it first) or "refused"."""
        return self._require_service().sign_in(upn, password)

    def remove_member(self, group_id: str, user_id: str) -> None:
        """Drift made "by hand": take a member out of a group (or class) outside ESS."""
        self._require_service().remove_member(group_id, user_id)

    def rename_group(self, group_id: str, display_name: str) -> None:
        """Drift made "by hand": rename a group (or class) outside ESS."""
        self._require_service().rename_group(group_id, display_name)
