"""``ess ingest``: the hosted side's HTTPS endpoint that takes snapshots from on-site agents.

Its own process (not a route of another service), so that the one port open to the internet
runs the least code: it checks agents, stores uploads and nothing else; it holds no target
credential. The uploads go to the inbox folder (:mod:`engine.ingest_inbox`), or with a
``[journal]`` to the hosted journal (:mod:`engine.journal.agent_uploads`), so that several
ingest processes on several machines serve one installation without a shared folder.

Routes (every request signed, :mod:`engine.agent_auth`):

- ``POST /v1/uploads`` body ``{"seq", "size", "sha256", "version"}``: begins an upload (or
  answers the one already begun with this sequence number) with its id and offset;
- ``GET /v1/uploads/{id}``: where the upload stands (the offset to resume from);
- ``PUT /v1/uploads/{id}?offset=N``: the next chunk; a wrong offset is answered 409 with the
  right one;
- ``POST /v1/uploads/{id}/commit``: checks size, hash and the snapshot whole, then makes it the
  tenant's latest.

Refused: an unknown agent or a bad signature (401), a time outside the window (401), a tenant
the agent does not serve or another agent's upload (403), a sequence number not above the
agent's last accepted one (409, a replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine import agent_auth
from engine.agent_wire import WireError, decode_snapshot
from engine.config import JournalConfig
from engine.ingest_inbox import NAME, Accepted
from engine.ingest_store import InboxStore, Replay, UploadStore
from engine.journal import Journal, JournalError
from engine.secrets import Secret, SecretResolver, check_reference

log = logging.getLogger(__name__)


class AgentEntry(BaseModel):
    """One agent the ingest knows: its key and the tenants it may upload for."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    tenants: list[str] = Field(min_length=1)

    @field_validator("key")
    @classmethod
    def _reference(cls, value: str) -> str:
        problem = check_reference(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("tenants")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not NAME.match(name):
                raise ValueError(f"{name!r} is not a tenant name (letters, digits, _ . -)")
        return value


class IngestSettings(BaseModel):
    """The ``[ingest]`` table of the ingest's config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    inbox: Path | None = None  # the folder store; without it, the [journal] holds uploads
    host: str = "0.0.0.0"
    port: int = 443
    tls_cert: Path
    tls_key: Path
    clock_skew_s: int = Field(default=300, ge=1)
    max_upload_mb: int = Field(default=512, ge=1)
    max_snapshot_mb: int = Field(default=4096, ge=1)
    chunk_max_mb: int = Field(default=16, ge=1)
    # an open upload that took no chunk for this long is removed (its agent never came back)
    abandon_upload_after_h: float = Field(default=24, gt=0)


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ingest: IngestSettings
    journal: JournalConfig | None = None  # the hosted journal, to keep uploads in
    agents: dict[str, AgentEntry] = {}

    @model_validator(mode="after")
    def _one_store(self) -> IngestConfig:
        if (self.ingest.inbox is None) == (self.journal is None):
            raise ValueError(
                "give the uploads one store: ingest.inbox (a folder) or a [journal] table"
            )
        return self

    @field_validator("agents")
    @classmethod
    def _agent_names(cls, value: dict[str, AgentEntry]) -> dict[str, AgentEntry]:
        for name in value:
            if not NAME.match(name):
                raise ValueError(f"{name!r} is not an agent name (letters, digits, _ . -)")
        return value


class IngestConfigError(ValueError):
    """An ingest config file that cannot be used; one line per problem, naming the key."""


def load_config(path: Path) -> IngestConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IngestConfigError(
            f"{path}: cannot read the ingest's config ({exc.strerror})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise IngestConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return IngestConfig.model_validate(data)
    except ValidationError as exc:
        lines = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise IngestConfigError(f"{path}: {lines}") from None


class _Begin(msgspec.Struct, frozen=True):
    seq: int
    size: int
    sha256: str
    version: str = "unknown"


def _refuse(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Ingest:
    """The endpoint's logic over one inbox; agents' keys are resolved once, at start."""

    def __init__(
        self,
        config: IngestConfig,
        resolver: SecretResolver,
        clock: Any = time.time,
    ) -> None:
        self.settings = config.ingest
        self.agents = config.agents
        self.keys: Mapping[str, Secret] = {
            name: resolver.resolve(entry.key) for name, entry in config.agents.items()
        }
        self.inbox: UploadStore = _store(config, resolver)
        self.clock = clock

    async def _caller(self, request: Request, body: bytes) -> tuple[str, str] | JSONResponse:
        """The agent and tenant of a signed request, or the refusal."""
        headers = request.headers
        agent = headers.get(agent_auth.AGENT, "")
        tenant = headers.get(agent_auth.TENANT, "")
        key = self.keys.get(agent)
        if key is None:
            return _refuse(401, f"unknown agent {agent[:100]!r}")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not agent_auth.verify(key.reveal(), request.method, target, headers, body):
            return _refuse(401, "the request's signature does not match the agent's key")
        when = int(headers[agent_auth.TIME])
        if abs(self.clock() - when) > self.settings.clock_skew_s:
            return _refuse(
                401,
                f"the request's time is more than {self.settings.clock_skew_s} s from the "
                "ingest's clock (a replay, or the agent's clock is wrong)",
            )
        if tenant not in self.agents[agent].tenants:
            return _refuse(403, f"agent {agent!r} does not serve tenant {tenant[:100]!r}")
        return agent, tenant

    async def begin(self, request: Request) -> JSONResponse:
        body = await request.body()
        caller = await self._caller(request, body)
        if isinstance(caller, JSONResponse):
            return caller
        agent, tenant = caller
        try:
            begin = msgspec.json.decode(body, type=_Begin)
        except msgspec.DecodeError as exc:
            return _refuse(400, f"the upload's description is not valid: {exc}")
        limit = self.settings.max_upload_mb * 1024 * 1024
        if not 0 < begin.size <= limit:
            return _refuse(413, f"an upload must be 1 byte to {self.settings.max_upload_mb} MB")
        try:
            pending, offset = await self.inbox.begin(
                agent, tenant, begin.seq, begin.size, begin.sha256, begin.version[:100]
            )
        except Replay as exc:
            return _refuse(
                409,
                f"sequence {begin.seq} is not above agent {agent!r}'s last accepted "
                f"upload ({exc.last_seq}): a replay",
                last_seq=exc.last_seq,
            )
        return JSONResponse({"upload_id": pending.upload_id, "offset": offset})

    async def _owned(self, request: Request, body: bytes) -> tuple[str, JSONResponse | None]:
        caller = await self._caller(request, body)
        upload_id = str(request.path_params["upload_id"])
        if isinstance(caller, JSONResponse):
            return upload_id, caller
        try:
            pending = await self.inbox.pending(upload_id)
        except (KeyError, OSError):
            return upload_id, _refuse(404, f"no upload {upload_id[:40]!r} is open")
        if (pending.agent, pending.tenant) != caller:
            return upload_id, _refuse(403, "the upload belongs to another agent or tenant")
        return upload_id, None

    async def _accepted_already(self, request: Request, upload_id: str) -> Accepted | None:
        """The caller's upload ``upload_id`` when it is closed because it was accepted (by
        this process or another: the agent lost the answer, or raced itself)."""
        agent = request.headers.get(agent_auth.AGENT, "")
        tenant = request.headers.get(agent_auth.TENANT, "")
        last = await self.inbox.last_of_agent(agent, tenant)
        return last if last is not None and last.upload_id == upload_id else None

    async def status(self, request: Request) -> JSONResponse:
        upload_id, refusal = await self._owned(request, b"")
        if refusal is not None:
            if refusal.status_code == 404 and (
                done := await self._accepted_already(request, upload_id)
            ):
                return JSONResponse({"offset": done.size})
            return refusal
        return JSONResponse({"offset": await self.inbox.offset(upload_id)})

    async def chunk(self, request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > self.settings.chunk_max_mb * 1024 * 1024:
            return _refuse(413, f"a chunk must be at most {self.settings.chunk_max_mb} MB")
        upload_id, refusal = await self._owned(request, body)
        if refusal is not None:
            if refusal.status_code == 404 and (
                done := await self._accepted_already(request, upload_id)
            ):
                return _refuse(409, "the upload is whole and accepted", offset=done.size)
            return refusal
        try:
            offset = int(request.query_params.get("offset", ""))
        except ValueError:
            return _refuse(400, "a chunk needs ?offset=N")
        try:
            pending = await self.inbox.pending(upload_id)
            if offset + len(body) > pending.size:
                return _refuse(413, f"the chunk runs past the upload's size {pending.size}")
            now = await self.inbox.append(upload_id, offset, body)
        except (KeyError, OSError):
            if done := await self._accepted_already(request, upload_id):
                return _refuse(409, "the upload is whole and accepted", offset=done.size)
            return _refuse(404, f"no upload {upload_id[:40]!r} is open")
        if now != offset + len(body):
            return _refuse(409, f"the upload stands at offset {now}, not {offset}", offset=now)
        return JSONResponse({"offset": now})

    async def commit(self, request: Request) -> JSONResponse:
        upload_id, refusal = await self._owned(request, b"")
        if refusal is not None:
            if refusal.status_code == 404 and (
                last := await self._accepted_already(request, upload_id)
            ):
                return JSONResponse({"accepted": True, "seq": last.seq, "counts": last.counts})
            return refusal
        try:
            pending = await self.inbox.pending(upload_id)
            body = await self.inbox.body(upload_id)
        except (KeyError, OSError):
            return _refuse(404, f"no upload {upload_id[:40]!r} is open")
        if len(body) != pending.size:
            return _refuse(
                409, f"the upload has {len(body)} of {pending.size} bytes", offset=len(body)
            )
        if hashlib.sha256(body).hexdigest() != pending.sha256:
            await self.inbox.discard(upload_id)
            return _refuse(422, "the upload's SHA-256 does not match; send it again")
        try:
            snapshot = await asyncio.to_thread(
                decode_snapshot, body, max_size=self.settings.max_snapshot_mb * 1024 * 1024
            )
        except WireError as exc:
            await self.inbox.discard(upload_id)
            return _refuse(422, f"the upload was refused: {exc}")
        try:
            accepted = await self.inbox.accept(pending, snapshot.counts())
        except Replay:
            if last := await self._accepted_already(request, upload_id):
                return JSONResponse({"accepted": True, "seq": last.seq, "counts": last.counts})
            await self.inbox.discard(upload_id)
            return _refuse(409, f"sequence {pending.seq} was already accepted: a replay")
        except KeyError:
            return _refuse(404, f"no upload {upload_id[:40]!r} is open")
        return JSONResponse({"accepted": True, "seq": accepted.seq, "counts": accepted.counts})

    async def prune(self) -> int:
        """Removes the open uploads idle for ``abandon_upload_after_h``; how many."""
        idle_s = self.settings.abandon_upload_after_h * 3600
        return await self.inbox.prune(datetime.fromtimestamp(self.clock() - idle_s, UTC))

    async def aclose(self) -> None:
        await self.inbox.aclose()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/uploads", self.begin, methods=["POST"]),
                Route("/v1/uploads/{upload_id}", self.status, methods=["GET"]),
                Route("/v1/uploads/{upload_id}", self.chunk, methods=["PUT"]),
                Route("/v1/uploads/{upload_id}/commit", self.commit, methods=["POST"]),
            ]
        )


PRUNE_EVERY_S = 3600.0


async def prune_forever(ingest: Ingest, every_s: float = PRUNE_EVERY_S) -> None:
    """Prunes abandoned uploads at start and every ``every_s`` until cancelled; a store that
    cannot be reached is tried again next time (the uploads wait, nothing is lost)."""
    while True:
        try:
            pruned = await ingest.prune()
        except (JournalError, OSError) as exc:
            log.warning("abandoned uploads not pruned in %s: %s", ingest.inbox.root, exc)
        else:
            if pruned:
                log.info("pruned %d abandoned upload(s) in %s", pruned, ingest.inbox.root)
        await asyncio.sleep(every_s)


async def serve(ingest: Ingest, base_dir: Path = Path(".")) -> None:
    """Serves the ingest over TLS until cancelled."""
    import uvicorn

    settings = ingest.settings
    cert = settings.tls_cert if settings.tls_cert.is_absolute() else base_dir / settings.tls_cert
    key = settings.tls_key if settings.tls_key.is_absolute() else base_dir / settings.tls_key
    config = uvicorn.Config(
        ingest.app(),
        host=settings.host,
        port=settings.port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
        access_log=False,
    )
    pruning = asyncio.create_task(prune_forever(ingest))
    try:
        await uvicorn.Server(config).serve()
    finally:
        pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning
        await ingest.aclose()


def _store(config: IngestConfig, resolver: SecretResolver) -> UploadStore:
    """The inbox folder, or the journal the ``[journal]`` table names (opened on first use)."""
    if config.ingest.inbox is not None:
        root = config.ingest.inbox
        return InboxStore(root if root.is_absolute() else resolver.base_dir / root)
    journal = config.journal
    assert journal is not None  # IngestConfig holds one store
    from engine.journal.agent_uploads import JournalUploads

    if journal.url:
        from engine.journal.postgres import PostgresJournal, display_url

        url = journal.url
        password = resolver.resolve(journal.password) if journal.password else None

        async def postgres() -> Journal:
            return await PostgresJournal.connect(url, password=password)

        return JournalUploads(opener=postgres, root=f"journal {display_url(url)}")
    path = journal.path if journal.path.is_absolute() else resolver.base_dir / journal.path

    async def sqlite() -> Journal:
        from engine.journal import SqliteJournal

        return await SqliteJournal.open(path)

    return JournalUploads(opener=sqlite, root=f"journal {path}")
