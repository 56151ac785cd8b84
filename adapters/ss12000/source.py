"""The SS 12000 source: full and incremental reads over HTTP, or a folder of pages.

Incremental reads ask for objects modified after the checkpoint of the last complete read and for
``/deletedEntities`` since then, merge them into the raw records the engine's SourceCache kept,
and map the whole. The checkpoint is the server's clock at the start of the read (its Date
header) minus a safety overlap, so nothing modified during a read is missed. A read that fails
part way raises SourceError before ``save``: the stored snapshot stays as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx

from adapters.kit.dates import instant as _parse_time
from adapters.kit.retry import Backoff
from adapters.kit.source_config import load_config
from adapters.kit.tls import ClientCert, TLSConfigError, tls_context
from adapters.ss12000.auth import TokenSource
from adapters.ss12000.client import SS12000Client
from adapters.ss12000.config import SS12000Config
from adapters.ss12000.folder import check_folder, entity_files
from adapters.ss12000.mapping import ORIGIN, Collector
from adapters.ss12000.read_helper import (
    HelperFailed,
    HelperSettings,
    ReadHelper,
    helper_entity,
    read_with_helper,
)
from adapters.ss12000.records import decode_record, encode, record_id
from adapters.ss12000.rules import RULES
from adapters.ss12000.transport import Http
from adapters.ss12000.vocabulary import ENTITIES
from engine.findings import Finding, Severity
from engine.perf import gc_paused
from engine.rules import Rule
from engine.secrets import Secret, SecretError, SecretResolver
from engine.source import CachedSource, MapResult, SourceContext, SourceError, SourceRead

OVERLAP = timedelta(minutes=2)
REFUSED = "refused:"
"""The cache's entity prefix for the ids a read refused (``refused:persons`` holds the refused
persons' ids): the next incremental read asks for each of them again by id, so a record
corrupted once is not kept refused until the next full read."""
REREAD_BY_ID = 100
"""More refused ids of one entity than this, and the next read is full instead."""


def _refused_in(cached: CachedSource, entity: str) -> Mapping[str, bytes]:
    return cached.records.get(REFUSED + entity, {})


class SS12000ConfigError(ValueError):
    """The source table cannot be used; the message names each bad key."""


def _resolve(secrets: SecretResolver, key: str, reference: str | None) -> Secret | None:
    """A secret reference of the config, resolved; a failure names the key, not the secret."""
    if reference is None:
        return None
    try:
        return secrets.resolve(reference)
    except SecretError as exc:
        raise SS12000ConfigError(f"ss12000 source: {key}: {exc}") from None


def _client_cert(config: SS12000Config, secrets: SecretResolver) -> ClientCert | None:
    """The client certificate, loaded once now so that a problem is a configuration error
    naming the key; relative paths are taken from the configuration file's folder."""
    if config.client_cert is None:
        return None
    password = _resolve(secrets, "client_key_password", config.client_key_password)
    cert = ClientCert(
        secrets.base_dir / config.client_cert,
        secrets.base_dir / config.client_key if config.client_key else None,
        password,
    )
    try:
        tls_context(config.verify, cert)
    except TLSConfigError as exc:
        raise SS12000ConfigError(f"ss12000 source: {exc}") from None
    return cert


def _hold_last_good(
    collector: Collector, entity: str, rid: str, stored: Mapping[str, bytes]
) -> None:
    body = stored.get(rid)
    if body is not None:
        collector.hold_last_good(entity, rid, decode_record(body, entity))


def _mark_refused(
    cached: CachedSource,
    refused: Mapping[str, set[str]],
    upserts: dict[str, dict[str, bytes]],
    deletes: dict[str, list[str]],
) -> None:
    """Keep this read's refused ids in the cache (and forget those taken again), so that
    the next read asks for them again."""
    for entity, ids in refused.items():
        key = REFUSED + entity
        upserts[key] = dict.fromkeys(ids, b"")
        deletes[key] = [rid for rid in _refused_in(cached, entity) if rid not in ids]


def format_checkpoint(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SS12000Source:
    """engine.source.Source for SS 12000:2020 servers (profiles ist, edlevo, generic)."""

    config_model: ClassVar[type[Any]] = SS12000Config
    rules: ClassVar[Sequence[Rule]] = RULES

    def __init__(
        self,
        config: SS12000Config,
        secret: Secret | None = None,
        *,
        retry: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client_cert: ClientCert | None = None,
        helper: HelperSettings | None = None,
    ) -> None:
        self.config = config
        self._secret = secret
        self._client_cert = client_cert
        self._retry = retry
        self._transport = transport
        self._client: SS12000Client | None = None
        self._helper = helper or HelperSettings()

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> SS12000Source:
        config = load_config(SS12000Config, settings, "ss12000", SS12000ConfigError)
        secret = _resolve(secrets, "client_secret", config.client_secret)
        return cls(config, secret, client_cert=_client_cert(config, secrets))

    # -- plumbing -------------------------------------------------------------------------

    def client(self) -> SS12000Client:
        """The HTTP client, made on first use and kept for the next read."""
        if self._client is None:
            cfg = self.config
            base_url = cfg.resolved_base_url
            token_url = cfg.resolved_token_url
            if base_url is None or token_url is None or cfg.client_id is None:
                raise SourceError("the source is not configured for HTTP (see ess config check)")
            if self._secret is None:
                raise SourceError("client_secret is not resolved")
            http = Http(
                timeout_s=cfg.timeout_s,
                verify=cfg.verify,
                client_cert=self._client_cert,
                policy=self._retry,
                proxy=cfg.proxy,
                transport=self._transport,
            )
            auth = TokenSource(http, token_url, cfg.client_id, self._secret, cfg.scope)
            self._client = SS12000Client(
                http, base_url, auth, page_size=cfg.page_size, paging=cfg.resolved_paging
            )
        return self._client

    def _collector(self, ctx: SourceContext) -> Collector:
        return Collector(
            ctx.today,
            activity_name_is_subject=self.config.vendor.activity_name_is_subject,
            civic_hash=ctx.civic_hash,
        )

    def _full_due(self, cached: CachedSource, now: datetime) -> bool:
        if cached.checkpoint is None or self.config.full_read_days == 0:
            return True
        if any(len(_refused_in(cached, e)) > REREAD_BY_ID for e in ENTITIES):
            return True  # quicker than asking for each refused record by id
        last_full = _parse_time(cached.full_read_at)
        return last_full is None or now - last_full >= timedelta(days=self.config.full_read_days)

    # -- reads ----------------------------------------------------------------------------

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        if self.config.path is not None:
            with gc_paused():
                return await asyncio.to_thread(self._read_folder, ctx, Path(self.config.path))
        cached = await ctx.cache.load()
        with gc_paused():
            return await self._read_http(ctx, cached, full)

    async def _read_http(self, ctx: SourceContext, cached: CachedSource, full: bool) -> SourceRead:
        started = datetime.now(UTC)
        client = self.client()
        client.start_read()
        requests_before, pages_before = client.http.requests, client.pages_read
        if full or self._full_due(cached, started):
            mode: Literal["full", "incremental"] = "full"
            result, upserts, deletes = await self._read_full(ctx, client, cached)
        else:
            mode = "incremental"
            assert cached.checkpoint is not None
            result, upserts, deletes = await self._read_changes(ctx, client, cached)
        server_start = client.server_time or started
        checkpoint = format_checkpoint(server_start - OVERLAP)
        await ctx.cache.save(
            upserts=upserts, deletes=deletes, checkpoint=checkpoint, full=mode == "full"
        )
        stats = dict(result.stats)
        stats["upserts"] = sum(len(upserts.get(e, ())) for e in ENTITIES)
        stats["deletes"] = sum(len(deletes.get(e, ())) for e in ENTITIES)
        stats["refused"] = sum(len(upserts.get(REFUSED + e, ())) for e in ENTITIES)
        stats["requests"] = client.http.requests - requests_before
        stats["pages"] = client.pages_read - pages_before
        ctx.emit(
            "info",
            f"ss12000 {mode} read: "
            + ", ".join(f"{e} {stats.get(e, 0)}" for e in ENTITIES)
            + f"; {stats['upserts']} changed, {stats['deletes']} deleted",
        )
        return SourceRead(result.snapshot, result.findings, mode, stats)

    async def _read_full(
        self, ctx: SourceContext, client: SS12000Client, cached: CachedSource
    ) -> tuple[MapResult, dict[str, dict[str, bytes]], dict[str, list[str]]]:
        collector = self._collector(ctx)
        raw: dict[str, dict[str, bytes]] = {e: {} for e in ENTITIES}
        refused: dict[str, set[str]] = {e: set() for e in ENTITIES}
        for entity in ENTITIES:
            stored = cached.records.get(entity, {})
            await self._listing(
                ctx, client, collector, entity, raw[entity], None, refused[entity], stored
            )
            for rid in refused[entity]:  # the last good copy stays
                if rid in stored:
                    raw[entity][rid] = stored[rid]
        deletes = {
            e: [rid for rid in cached.records.get(e, {}) if rid not in raw[e]] for e in ENTITIES
        }
        _mark_refused(cached, refused, raw, deletes)
        result = await asyncio.to_thread(collector.finish)
        return result, raw, deletes

    async def _read_changes(
        self, ctx: SourceContext, client: SS12000Client, cached: CachedSource
    ) -> tuple[MapResult, dict[str, dict[str, bytes]], dict[str, list[str]]]:
        after = cached.checkpoint
        assert after is not None
        # deletions first: anything listed afterwards is newer and wins over its deletion
        deleted = await client.deleted(after, list(ENTITIES))
        collector = self._collector(ctx)
        upserts: dict[str, dict[str, bytes]] = {e: {} for e in ENTITIES}
        refused: dict[str, set[str]] = {e: set() for e in ENTITIES}
        for entity in ENTITIES:
            await self._listing(
                ctx,
                client,
                collector,
                entity,
                upserts[entity],
                after,
                refused[entity],
                cached.records.get(entity, {}),
            )
        for entity in ENTITIES:
            gone = deleted.setdefault(entity, set())
            await self._read_again(
                ctx, client, collector, entity, cached, upserts[entity], refused[entity], gone
            )
        deletes: dict[str, list[str]] = {}
        for entity in ENTITIES:
            stored = cached.records.get(entity, {})
            changed, gone, bad = upserts[entity], deleted[entity], refused[entity]
            deletes[entity] = [rid for rid in gone if rid in stored and rid not in changed]
            add = collector.add
            for rid, body in stored.items():
                # a refused record's stored copy is its last good one: kept, not used
                if rid not in changed and rid not in gone and rid not in bad:
                    add(entity, decode_record(body, entity), f"stored {entity} {rid}")
        _mark_refused(cached, refused, upserts, deletes)
        result = await asyncio.to_thread(collector.finish)
        return result, upserts, deletes

    async def _read_again(
        self,
        ctx: SourceContext,
        client: SS12000Client,
        collector: Collector,
        entity: str,
        cached: CachedSource,
        changed: dict[str, bytes],
        refused: set[str],
        gone: set[str],
    ) -> None:
        """Ask again by id for each record the last read refused and this one has not listed
        (it has not changed since, so a copy damaged once would otherwise stay refused)."""
        for rid in sorted(_refused_in(cached, entity)):
            if rid in changed or rid in refused or rid in gone:
                continue
            rec = await client.item(entity, rid)
            if rec is None:
                gone.add(rid)  # no longer there: gone, like a listed deletion
                continue
            if collector.add(entity, rec, f"{entity} {rid}"):
                changed[rid] = encode(rec, ctx.civic_hash)
            else:
                refused.add(rid)
                _hold_last_good(collector, entity, rid, cached.records.get(entity, {}))

    async def _listing(
        self,
        ctx: SourceContext,
        client: SS12000Client,
        collector: Collector,
        entity: str,
        raw: dict[str, bytes],
        after: str | None,
        refused: set[str],
        stored: Mapping[str, bytes],
    ) -> None:
        filters = {"meta.modified.after": after} if after else None
        count = 0
        number = 0
        add = collector.add
        async for page in client.pages(entity, filters):
            number += 1
            for i, rec in enumerate(page.records, start=1):
                rid = add(entity, rec, f"{entity} page {number} item {i}")
                if rid:
                    raw[rid] = encode(rec, ctx.civic_hash)
                    refused.discard(rid)
                elif rid := record_id(rec):
                    # not stored: the last good copy stays, and the next read asks again
                    raw.pop(rid, None)
                    refused.add(rid)
                    _hold_last_good(collector, entity, rid, stored)
            count += len(page.records)
            ctx.progress(entity, count)

    def _read_folder(self, ctx: SourceContext, root: Path) -> SourceRead:
        check_folder(root)
        collector = self._collector(ctx)
        helper = self._start_helper(ctx, root)
        try:
            figures = read_with_helper(
                root, collector, lambda: self._collector(ctx), helper, self._warn(ctx)
            )
        finally:
            if helper is not None:
                helper.stop()
        result = collector.finish()
        findings = list(result.findings)
        for entity in ENTITIES:
            if not entity_files(root, entity):
                findings.append(
                    Finding(
                        "ss12000.missing_entity",
                        Severity.WARNING,
                        "source",
                        str(root),
                        f"the folder has no {entity} pages; what they would add is missing",
                        f"Add {entity}.json (or {entity}/*.json) to the folder.",
                        ORIGIN,
                    )
                )
        stats = dict(result.stats)
        stats.update(figures)
        return SourceRead(result.snapshot, tuple(findings), "folder", stats)

    def _start_helper(self, ctx: SourceContext, root: Path) -> ReadHelper | None:
        """A helper process for the folder's largest entity, when it is worth one."""
        if not self.config.parallel_read:
            return None
        entity = helper_entity(root, self._helper)
        if entity is None:
            return None
        try:
            return ReadHelper.start(
                root,
                entity,
                ctx.today,
                activity_name_is_subject=self.config.vendor.activity_name_is_subject,
                python=self._helper.python,
            )
        except HelperFailed as exc:
            self._warn(ctx)(f"{exc}; the whole folder is read in this process")
            return None

    @staticmethod
    def _warn(ctx: SourceContext) -> Callable[[str], None]:
        return lambda message: ctx.emit("warning", f"ss12000 folder read: {message}")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
