"""A local SCIM 2.0 service: scim2-server's core over real HTTP on loopback, with the kit's
throttling, latency and faults, a token endpoint (OAuth2 client credentials) and a static
bearer token, and for the ``egil`` profile the SIS schemas and a storage that keeps the source
UUID as the resource id. See docs/sandboxes/scim.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.kit.sandbox import (
    Chaos,
    ConfiguredSandbox,
    Inspection,
    KitSettings,
    Limit,
    SandboxError,
    TokenCheck,
    TokenEndpoint,
    apply_changes,
    make_tls,
)
from adapters.kit.sandbox.limits import Throttle

from .peer import PeerApplication, UuidKeepingStorage, provider_for
from .settings import SandboxInfo, SandboxSettings, SandboxStats

__all__ = ["SandboxInfo", "SandboxSettings", "SandboxStats", "ScimSandbox"]

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error(status: int, reason: str, headers: Any) -> Response:
    """The error body a SCIM service sends (RFC 7644 §3.12) for a 429, a 5xx or a 504."""
    import orjson

    body = {"schemas": [SCIM_ERROR], "status": str(status), "detail": reason}
    return Response(orjson.dumps(body), status, dict(headers), media_type="application/scim+json")


class _Chaos(Chaos):
    """The kit's middleware, also counting writes sent again before their Retry-After."""

    early = 0

    def _throttle(self, scope: Scope, settings: KitSettings, arrived: float) -> Throttle | None:
        throttle = super()._throttle(scope, settings, arrived)
        if throttle is not None and throttle.early and scope.get("method") != "GET":
            self.early += 1
        return throttle


def _scim_path(path: str) -> bool:
    return not path.startswith("/_sandbox") and path != "/token"


class ScimSandbox(ConfiguredSandbox[SandboxInfo, SandboxSettings]):
    """scim2-server, as a SCIM service of the ``core`` or ``egil`` profile."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-scim-sandbox-"

    def _configure(self) -> None:
        self.settings.check()
        s = self.settings
        self.storage = UuidKeepingStorage() if s.profile == "egil" else _core_storage()
        self.bearer_token = secrets.token_urlsafe(24)
        self.tokens = TokenEndpoint(
            "ess-scim-client", secrets.token_urlsafe(24), lambda: self.settings.token_lifetime_s
        )
        provider = provider_for(
            s.profile,
            bulk=s.bulk,
            etag=s.etag,
            patch=s.patch,
            max_results=s.max_results,
            bulk_max=s.bulk_max_operations,
            bulk_max_payload=s.bulk_max_payload,
            filtering=s.filter,
        )
        self.peer = PeerApplication(self.storage, provider, self._authorized)
        self._chaos: _Chaos | None = None

    def _authorized(self, header: str | None) -> bool:
        if self.settings.revoked:
            return False
        if header == f"Bearer {self.bearer_token}":
            return True
        return self.tokens.check(header) is TokenCheck.VALID

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        tls = make_tls(self._workdir.path, (self.host,), "ESS SCIM sandbox")
        server, base = self._bind(tls, "scim-sandbox")
        inspection = Inspection(
            settings=lambda: self.settings,
            state=self.state,
            stats=lambda: self.stats().to_dict(),
            reset_stats=self.reset_stats,
        )
        side = Starlette(
            routes=[Route("/token", self._token, methods=["POST"]), *inspection.routes()]
        )
        peer = self.peer

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and _scim_path(scope["path"]):
                await peer(scope, receive, send)  # type: ignore[arg-type]
            else:
                await side(scope, receive, send)

        self._chaos = _Chaos(
            app,
            lambda: self.settings,
            limit=lambda s: Limit.per_second(getattr(s, "requests_per_second", 0.0), s.time_scale),
            throttle_key=_everyone,
            throttles=_scim_path,
            delays=_scim_path,
            faults=lambda path: _scim_path(path),
            error=scim_error,
        )
        self._or_stop(lambda: server.start(self._chaos), SandboxError)
        self._info = SandboxInfo(
            base_url=f"{base}/v2",
            token_url=f"{base}/token",
            bearer_token=self.bearer_token,
            client_id=self.tokens.client_id,
            client_secret=self.tokens.client_secret,
            profile=self.settings.profile,
            inspect_url=f"{base}/_sandbox",
            ca_path=str(tls.ca_path),
        )
        return self._info

    async def _token(self, request: Any) -> Response:
        if self.settings.revoked:
            from adapters.kit.sandbox import OAuthRefusal

            return OAuthRefusal("invalid_client", 401).response()
        return await self.tokens.handle(request)

    # ------------------------------------------------------------------ inspection
    def resources(self, resource_type: str | None = None) -> list[dict[str, Any]]:
        """The stored resources as JSON (of one resource type when named)."""
        out = []
        for r in self.storage.resources:
            data = r.model_dump(mode="json")
            kind = (data.get("meta") or {}).get("resourceType")
            if resource_type is None or kind == resource_type:
                out.append(data)
        return out

    def state(self) -> dict[str, Any]:
        """The same JSON as ``GET /_sandbox/state``: resources by resource type."""
        by_type: dict[str, list[dict[str, Any]]] = {}
        for data in self.resources():
            by_type.setdefault(str((data.get("meta") or {}).get("resourceType")), []).append(data)
        return {"profile": self.settings.profile, "resources": by_type}

    def stats(self) -> SandboxStats:
        c = self.peer.counted
        chaos = self._chaos
        return SandboxStats(
            requests=c.requests,
            writes=c.writes,
            bulk_requests=c.bulk_requests,
            throttled=chaos.counters.throttled if chaos else 0,
            early_retries=chaos.early if chaos else 0,
            faults_injected=chaos.counters.faults if chaos else 0,
            by_status=dict(c.by_status),
        )

    def reset_stats(self) -> None:
        self.peer.counted.__init__()  # type: ignore[misc]
        if self._chaos is not None:
            self._chaos.reset()
            self._chaos.early = 0

    def update_settings(self, **changes: Any) -> None:
        """Change settings while it runs, all or nothing (as ``POST /_sandbox/settings``)."""
        apply_changes(self.settings, changes)

    def clear(self) -> None:
        """Forget every resource (a fresh service for the next test)."""
        self.storage.resources = []


def _everyone(scope: Scope) -> Hashable:
    return "client"


def _core_storage() -> Any:
    from scim2_server.memory import InMemoryStorage

    return InMemoryStorage()
