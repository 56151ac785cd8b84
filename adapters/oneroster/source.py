"""The OneRoster 1.2 source: a bulk CSV package read whole each run (a folder or a zip), or
a folder of packages: a bulk package and the delta packages after it, applied in name order;
or the rostering v1p2 REST API (:mod:`adapters.oneroster.rest`): read whole at least every
``full_read_days``, and between those only what changed since the last read
(:mod:`adapters.oneroster.rest_delta`), applied to what the source cache holds.

A file or an answer ESS cannot read stops the read with a :class:`SourceError` naming it;
nothing of that read is used, so a broken package never removes anything.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
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
from adapters.oneroster.rest_delta import changed, format_mark, parse_mark, since, whole
from engine.perf import gc_paused
from engine.secrets import Secret, SecretError, SecretResolver
from engine.source import CachedSource, SourceContext, SourceRead


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
        cached = await ctx.cache.load()
        started = datetime.now(UTC)
        last_start = parse_mark(cached.checkpoint)
        incremental = not (
            full
            or last_start is None
            or "users" not in cached.records  # another source's cache: start whole
            or self._full_due(cached, started)
        )
        http = HttpClient(timeout_s=config.timeout_s, verify=self._tls, backoff=self.backoff)
        auth = ClientCredentials(
            http, config.token_url, config.client_id, self._secret, config.scope
        )
        try:
            fetched = await fetch_all(
                http,
                auth,
                config.base_url,
                config.page_size,
                since(cached.checkpoint or "") if incremental else None,
            )
        finally:
            await http.aclose()
        if incremental:
            assert last_start is not None
            applied = changed(fetched.objects, cached, ctx.civic_hash, last_start)
        else:
            applied = whole(fetched.objects, cached, ctx.civic_hash)
        merged = to_rows(applied.objects, "OneRoster API")
        mode: Literal["full", "incremental"] = "incremental" if incremental else "full"
        with gc_paused():
            read = await asyncio.to_thread(self._map, merged, ctx, mode)
        mark = format_mark(min(fetched.server_start or started, started))
        await ctx.cache.save(
            upserts=applied.upserts, deletes=applied.deletes, checkpoint=mark, full=not incremental
        )
        return SourceRead(
            read.snapshot,
            (*applied.findings, *read.findings),
            mode,
            {**read.stats, **applied.counts()},
        )

    def _full_due(self, cached: CachedSource, now: datetime) -> bool:
        days = self.config.full_read_days
        last_full = parse_mark(cached.full_read_at)
        return days == 0 or last_full is None or now - last_full >= timedelta(days=days)

    def read_now(self, ctx: SourceContext) -> SourceRead:
        packages = open_packages(self.path, self.config.zip_limits())
        return self._map(packages, ctx, "folder")

    def _map(
        self,
        given: list[Package] | Merged,
        ctx: SourceContext,
        mode: Literal["full", "incremental", "folder"],
    ) -> SourceRead:
        snapshot, findings, stats = Mapper(given, ctx.today).run()
        ctx.emit(
            "info",
            "oneroster read: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())),
        )
        return SourceRead(snapshot, findings, mode, stats)
