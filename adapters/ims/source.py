"""The IMS Enterprise source: a complete export and the deltas after it, as files; or the
documents of one complete export fetched over HTTPS (:mod:`adapters.ims.http`).

Each read takes the whole export again (the files are the source's state; there is nothing
to ask for incrementally), streams every file through the hardened parser and applies it in
name order, so the last complete export and the deltas after it give the snapshot. A file
that cannot be read is a :class:`SourceError` naming it: the read stops and nothing of it
is used, so a broken export never removes anything.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from adapters.ims.config import ImsConfig
from adapters.ims.http import fetch_documents
from adapters.ims.mapping import ImsState, apply
from adapters.ims.parse import read_records
from adapters.kit.export_source import ExportSource
from adapters.kit.exports import export_files
from adapters.kit.http import HttpClient
from adapters.kit.retry import Backoff
from adapters.kit.tls import ClientCert, TLSConfigError, tls_context
from engine.perf import gc_paused
from engine.secrets import Secret, SecretError, SecretResolver
from engine.source import SourceContext, SourceRead

SUFFIXES = (".xml",)


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
        if not self.config.urls:
            return await super().read(ctx, full=full)
        assert self._api_key is not None
        client = HttpClient(timeout_s=self.config.timeout_s, verify=self._tls, backoff=self.backoff)
        try:
            docs = await fetch_documents(
                client, self.config.urls, self.config.api_key_header, self._api_key
            )
        finally:
            await client.aclose()
        with gc_paused():
            return await asyncio.to_thread(self._read_documents, docs, ctx)

    def _read_documents(self, docs: list[tuple[str, bytes]], ctx: SourceContext) -> SourceRead:
        """The fetched documents as the parts of one complete export."""
        state = ImsState()
        for n, (url, body) in enumerate(docs):
            apply(state, read_records(io.BytesIO(body), url), url, part=n > 0)
            ctx.progress("persons", len(state.persons))
        return self._result(state, ctx, "full")

    def read_now(self, ctx: SourceContext) -> SourceRead:
        limits = self.config.zip_limits()
        state = ImsState()
        for f in export_files(self.path, SUFFIXES, limits):
            with f.open() as stream:
                apply(state, read_records(stream, f.name), f.name)
            ctx.progress("persons", len(state.persons))
        return self._result(state, ctx, "folder")

    def _result(
        self, state: ImsState, ctx: SourceContext, mode: Literal["full", "folder"]
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
