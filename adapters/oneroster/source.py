"""The OneRoster 1.2 source: a bulk CSV package read whole each run (a folder or a zip), or
a folder of packages: a bulk package and the delta packages after it, applied in name order;
or the rostering v1p2 REST API read whole (:mod:`adapters.oneroster.rest`).

A file or an answer ESS cannot read stops the read with a :class:`SourceError` naming it;
nothing of that read is used, so a broken package never removes anything.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from adapters.kit.export_source import ExportSource
from adapters.kit.http import HttpClient
from adapters.kit.retry import Backoff
from adapters.kit.tls import TLSConfigError, tls_context
from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.delta import Merged
from adapters.oneroster.mapping import Mapper
from adapters.oneroster.package import Package, open_packages
from adapters.oneroster.rest import ClientCredentials, fetch_all, to_rows
from engine.perf import gc_paused
from engine.secrets import Secret, SecretError, SecretResolver
from engine.source import SourceContext, SourceRead


class OneRosterConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class OneRosterSource(ExportSource[OneRosterConfig]):
    """engine.source.Source for OneRoster 1.2: CSV packages (bulk, and deltas after it) or
    the REST API."""

    config_model: ClassVar[type[OneRosterConfig]] = OneRosterConfig
    config_error: ClassVar[type[Exception]] = OneRosterConfigError

    def __init__(
        self,
        config: OneRosterConfig,
        base_dir: Path = Path("."),
        *,
        secret: Secret | None = None,
        tls: bool | ssl.SSLContext = True,
    ) -> None:
        super().__init__(config, base_dir)
        self._secret = secret
        self._tls = tls
        self.backoff: Backoff | None = None  # the kit's default; a test may make it quick

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> Self:
        """The source; for the REST form the client secret is resolved and the CA bundle
        loaded now, so a problem is a configuration error naming the key."""
        source = super().from_config(settings, secrets)
        config = source.config
        if config.base_url is None:
            return source
        try:
            assert config.client_secret is not None  # the config requires it
            source._secret = secrets.resolve(config.client_secret)
        except SecretError as exc:
            raise OneRosterConfigError(f"oneroster source: client_secret: {exc}") from None
        verify = config.verify
        if isinstance(verify, str):
            verify = str(secrets.base_dir / verify)
        try:
            source._tls = tls_context(verify)
        except TLSConfigError as exc:
            raise OneRosterConfigError(f"oneroster source: {exc}") from None
        return source

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        config = self.config
        if config.base_url is None:
            return await super().read(ctx, full=full)
        assert config.token_url and config.client_id and self._secret is not None
        http = HttpClient(timeout_s=config.timeout_s, verify=self._tls, backoff=self.backoff)
        auth = ClientCredentials(
            http, config.token_url, config.client_id, self._secret, config.scope
        )
        try:
            objects = await fetch_all(http, auth, config.base_url, config.page_size)
        finally:
            await http.aclose()
        merged = to_rows(objects, "OneRoster API")
        with gc_paused():
            return await asyncio.to_thread(self._map, merged, ctx, "full")

    def read_now(self, ctx: SourceContext) -> SourceRead:
        packages = open_packages(self.path, self.config.zip_limits())
        return self._map(packages, ctx, "folder")

    def _map(
        self,
        given: list[Package] | Merged,
        ctx: SourceContext,
        mode: Literal["full", "folder"],
    ) -> SourceRead:
        snapshot, findings, stats = Mapper(given, ctx.today).run()
        ctx.emit(
            "info",
            "oneroster read: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())),
        )
        return SourceRead(snapshot, findings, mode, stats)
