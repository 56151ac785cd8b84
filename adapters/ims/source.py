"""The IMS Enterprise source: a complete export and the deltas after it, as files; or the
documents of one complete export fetched over HTTPS (:mod:`adapters.ims.http`), and with
``delta_url`` the delta exports after it.

A read of files takes the whole export again (the files are the source's state), streams
every file through the hardened parser and applies it in name order, so the last complete
export and the deltas after it give the snapshot. Over HTTPS with ``delta_url``, the
documents read are kept in the source cache (:mod:`adapters.ims.cache`), and a read between
full reads fetches only the delta export since the last read and applies it after them. A
file or an answer that cannot be read is a :class:`SourceError` naming it: the read stops
and nothing of it is used (nor kept), so a broken export never removes anything.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from adapters.ims.cache import (
    ENTITY,
    complete_id,
    delta_id,
    is_complete_part,
    kept,
    without_person,
)
from adapters.ims.config import ImsConfig
from adapters.ims.http import fetch_documents
from adapters.ims.mapping import ImsState, apply
from adapters.ims.parse import read_records
from adapters.kit.dates import instant
from adapters.kit.export_source import ExportSource
from adapters.kit.exports import export_files
from adapters.kit.http import HttpClient
from adapters.kit.retry import Backoff
from adapters.kit.tls import ClientCert, TLSConfigError, tls_context
from engine.perf import gc_paused
from engine.secrets import Secret, SecretError, SecretResolver
from engine.source import CachedSource, CacheForget, SourceContext, SourceError, SourceRead

SUFFIXES = (".xml",)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ImsConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


class ImsSource(ExportSource[ImsConfig]):
    """engine.source.Source for IMS Enterprise 1.1 exports (TK450, Tieto Organization API)."""

    config_model: ClassVar[type[ImsConfig]] = ImsConfig
    config_error: ClassVar[type[Exception]] = ImsConfigError

    def __init__(
        self,
        config: ImsConfig,
        base_dir: Path = Path("."),
        *,
        api_key: Secret | None = None,
        tls: bool | ssl.SSLContext = True,
    ) -> None:
        super().__init__(config, base_dir)
        self._api_key = api_key
        self._tls = tls
        self.backoff: Backoff | None = None  # the kit's default; a test may make it quick

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> Self:
        """The source; for the HTTPS form the API key is resolved and the certificate loaded
        now, so a problem is a configuration error naming the key, before any read."""
        source = super().from_config(settings, secrets)
        config = source.config
        if not config.urls:
            return source
        try:
            assert config.api_key is not None  # the config requires it with urls
            source._api_key = secrets.resolve(config.api_key)
            password = (
                secrets.resolve(config.client_key_password) if config.client_key_password else None
            )
        except SecretError as exc:
            raise ImsConfigError(f"ims source: {exc}") from None
        client = None
        if config.client_cert is not None:
            base = secrets.base_dir
            client = ClientCert(
                base / config.client_cert,
                base / config.client_key if config.client_key else None,
                password,
            )
        verify = config.verify
        if isinstance(verify, str):
            verify = str(secrets.base_dir / verify)
        try:
            source._tls = tls_context(verify, client)
        except TLSConfigError as exc:
            raise ImsConfigError(f"ims source: {exc}") from None
        return source

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        config = self.config
        if not config.urls:
            return await super().read(ctx, full=full)
        assert self._api_key is not None
        cached = await ctx.cache.load()
        started = datetime.now(UTC)
        stored = dict(cached.records.get(ENTITY, {}))
        mark = instant(cached.checkpoint)
        incremental = bool(
            config.delta_url
            and not full
            and mark is not None
            and any(is_complete_part(k) for k in stored)
            and not self._full_due(cached, started)
        )
        client = HttpClient(timeout_s=config.timeout_s, verify=self._tls, backoff=self.backoff)
        try:
            if incremental:
                assert config.delta_url is not None and cached.checkpoint is not None
                fetched = await fetch_documents(
                    client,
                    (config.delta_url,),
                    config.api_key_header,
                    self._api_key,
                    {config.delta_since_parameter: cached.checkpoint},
                )
            else:
                fetched = await fetch_documents(
                    client, config.urls, config.api_key_header, self._api_key
                )
        finally:
            await client.aclose()
        with gc_paused():
            read, upserts, deletes = await asyncio.to_thread(
                self._read_documents, fetched.documents, stored, incremental, ctx
            )
        if config.delta_url:  # only then is there anything to keep for the next read
            moment = min(fetched.server_time or started, started)
            await ctx.cache.save(
                upserts={ENTITY: upserts},
                deletes={ENTITY: deletes},
                checkpoint=_format_time(moment),
                full=not incremental,
            )
        return read

    @classmethod
    def forget_cached(cls, records: Mapping[str, Mapping[str, bytes]], key: str) -> CacheForget:
        """The kept documents without the person ``key`` (``person forget``), or held while
        they still list the person: they are applied as the next incremental read would."""
        stored = dict(records.get(ENTITY, {}))
        if not stored:
            return CacheForget()
        state = ImsState()
        try:
            for n, (doc_id, body) in enumerate(sorted(stored.items())):
                part = n > 0 and is_complete_part(doc_id)
                apply(state, read_records(io.BytesIO(body), f"kept {doc_id}"), doc_id, part=part)
        except SourceError:
            return CacheForget(held="its kept documents cannot be read to remove them")
        if key in state.persons:
            return CacheForget(held="it still lists them")
        changed = {}
        for doc_id, body in stored.items():
            rewritten = without_person(body, key)
            if rewritten is not None:
                changed[doc_id] = rewritten
        return CacheForget({ENTITY: changed} if changed else {})

    def _full_due(self, cached: CachedSource, now: datetime) -> bool:
        days = self.config.full_read_days
        last_full = instant(cached.full_read_at)
        return days == 0 or last_full is None or now - last_full >= timedelta(days=days)

    def _read_documents(
        self,
        docs: list[tuple[str, bytes]],
        stored: dict[str, bytes],
        incremental: bool,
        ctx: SourceContext,
    ) -> tuple[SourceRead, dict[str, bytes], list[str]]:
        """The fetched documents as the parts of one complete export, or (``incremental``)
        the kept documents and the fetched delta after them; and what the cache must take
        and drop to hold what was read."""
        state = ImsState()
        upserts: dict[str, bytes] = {}
        if incremental:
            for n, (doc_id, body) in enumerate(sorted(stored.items())):
                part = n > 0 and is_complete_part(doc_id)
                apply(state, read_records(io.BytesIO(body), f"kept {doc_id}"), doc_id, part=part)
            for url, body in docs:
                apply(state, read_records(io.BytesIO(body), url), url)
                if self.config.delta_url:
                    upserts[delta_id(stored | upserts)] = kept(body, ctx.civic_hash)
            deletes: list[str] = []
        else:
            for n, (url, body) in enumerate(docs):
                apply(state, read_records(io.BytesIO(body), url), url, part=n > 0)
                ctx.progress("persons", len(state.persons))
                if self.config.delta_url:
                    upserts[complete_id(n)] = kept(body, ctx.civic_hash)
            deletes = [k for k in stored if k not in upserts]
        ctx.progress("persons", len(state.persons))
        return self._result(state, ctx, "incremental" if incremental else "full"), upserts, deletes

    def read_now(self, ctx: SourceContext) -> SourceRead:
        limits = self.config.zip_limits()
        state = ImsState()
        for f in export_files(self.path, SUFFIXES, limits):
            with f.open() as stream:
                apply(state, read_records(stream, f.name), f.name)
            ctx.progress("persons", len(state.persons))
        return self._result(state, ctx, "folder")

    def _result(
        self, state: ImsState, ctx: SourceContext, mode: Literal["full", "incremental", "folder"]
    ) -> SourceRead:
        result = state.finish(ctx.today)
        stats = dict(result.stats)
        ctx.emit(
            "info",
            f"ims read of {stats['files']} document(s): {stats['persons']} persons, "
            f"{stats['groups']} groups, {stats['memberships']} membership roles, "
            f"{stats['deletes']} deletes",
        )
        return SourceRead(result.snapshot, result.findings, mode, stats)
