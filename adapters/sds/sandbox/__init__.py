"""A local School Data Sync upload path: Entra's token endpoint (client credentials), the Graph
beta industryData calls (an upload session for a data connector, validate, the validate
operation, industry data runs) and the SAS container the files are put into as block blobs,
over HTTPS on loopback, with what SDS then holds. See docs/sandboxes/sds.md.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from adapters.kit.sandbox import (
    ConfiguredSandbox,
    SandboxError,
    TokenEndpoint,
    apply_changes,
    make_tls,
)

from .app import CountingChaos, build_app
from .service import Store
from .settings import SandboxInfo, SandboxSettings

__all__ = ["SandboxInfo", "SandboxSettings", "SdsSandbox"]

TENANT_ID = "5d5a0000-0000-4000-8000-00000000e550"
CLIENT_ID = "e55e0000-0000-4000-8000-0000000005d5"
CONNECTOR_ID = "c0000000-0000-4000-8000-0000000005d5"


class SdsSandbox(ConfiguredSandbox[SandboxInfo, SandboxSettings]):
    """The SDS upload path over HTTPS on loopback."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-sds-sandbox-"

    def _configure(self) -> None:
        self.settings.check()
        self.store = Store(CONNECTOR_ID)
        self.client_secret = "sds~" + secrets.token_urlsafe(18)
        self.tokens = TokenEndpoint(
            CLIENT_ID,
            self.client_secret,
            lifetime_s=lambda: self.settings.token_lifetime_s,
            default_scope="https://graph.microsoft.com/.default",
        )
        self._chaos: CountingChaos | None = None

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        tls = make_tls(self._workdir.path, (self.host,), "ESS SDS sandbox")
        server, base = self._bind(tls, "sds-sandbox")
        chaos, _ = build_app(
            self.store,
            self.tokens,
            lambda: self.settings,
            base,
            TENANT_ID,
            self.stats,
            self.reset_stats,
        )
        self._chaos = chaos
        self._or_stop(lambda: server.start(chaos), SandboxError)
        self._info = SandboxInfo(
            graph_url=f"{base}/beta/",
            token_url=f"{base}/{TENANT_ID}/oauth2/v2.0/token",
            tenant_id=TENANT_ID,
            client_id=CLIENT_ID,
            client_secret=self.client_secret,
            data_connector_id=CONNECTOR_ID,
            ca_path=str(tls.ca_path),
            inspect_url=f"{base}/_sandbox",
        )
        return self._info

    def state(self) -> dict[str, Any]:
        """The same JSON as ``GET /_sandbox/state``."""
        return self.store.state()

    def stats(self) -> dict[str, Any]:
        chaos = self._chaos
        counters = asdict(chaos.counters) if chaos is not None else {}
        early = chaos.early if chaos is not None else 0
        return {
            **counters,
            "uploads": self.store.uploads,
            "validations": self.store.validations,
            "deliveries": len(self.store.deliveries),
            "tokens_issued": self.tokens.issued,
            "early_retries": early,
        }

    def reset_stats(self) -> None:
        if self._chaos is not None:
            self._chaos.reset()

    def reset(self, settings: SandboxSettings | None = None) -> None:
        """Start over: no session, no record, the counters at zero, ``settings`` (default
        ones when none are given)."""
        with self.store.lock:
            self.store.clear()
        apply_changes(self.settings, asdict(settings or SandboxSettings()))
        self.reset_stats()

    def revoke_tokens(self) -> None:
        """Forget every token issued, as a rotated secret would."""
        self.tokens.revoke_all()

    def update_settings(self, **changes: Any) -> None:
        """Change settings while it runs, all or nothing (as ``POST /_sandbox/settings``)."""
        apply_changes(self.settings, changes)
