"""``ess agent``: runs at the customer, reads the local source and uploads its snapshot to
the hosted ingest over outbound HTTPS. Nothing listens at the customer.

Each upload is chunked and resumable: the agent begins an upload (a sequence number above its
last one, the size and SHA-256), sends chunks at offsets, and after a dropped connection asks
the ingest where the upload stands and goes on from there; the commit is safe to send again.
The source reads with the installation's civic key, so the snapshot holds personnummer only as
keyed hashes (:mod:`engine.agent_wire`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine import agent_auth, plugins
from engine.agent_wire import encode_snapshot
from engine.civic_hash import CivicHash, KeyedCivicHash, drop
from engine.rekey import NoCache
from engine.secrets import SecretResolver, check_reference
from engine.source import SourceContext, SourceError

log = logging.getLogger("ess.agent")


class AgentSettings(BaseModel):
    """The ``[agent]`` table of the agent's own config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    tenant: str
    url: str  # the ingest, e.g. https://ingest.example.se
    key: str  # secret reference to the agent's HMAC key
    ca: Path | None = None  # a CA bundle to trust for the ingest, beside the system's
    civic_key: str | None = None  # secret reference: the installation's civic key
    interval_minutes: int = Field(default=60, ge=1)
    state: Path = Path("agent-state.json")
    chunk_kb: int = Field(default=1024, ge=1, le=16 * 1024)
    retries: int = Field(default=8, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("the ingest's url must start with https://")
        return value.rstrip("/")

    @field_validator("key", "civic_key")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        problem = None if value is None else check_reference(value)
        if problem:
            raise ValueError(problem)
        return value


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    agent: AgentSettings
    source: dict[str, Any]


class AgentError(Exception):
    """An upload that could not be made; the message says why, never with a secret."""


class AgentConfigError(AgentError):
    """The agent's config cannot be used (a bad key, a CA bundle that does not load)."""


def load_config(path: Path) -> AgentConfig:
    """The agent's config file, with one clear line per problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read the agent's config ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        lines = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise AgentConfigError(f"{path}: {lines}") from None


def ess_version() -> str:
    try:
        return version("ess")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class UploadResult:
    seq: int
    size: int
    resumed: int  # how many times a dropped connection was resumed
    counts: Mapping[str, int]


class Agent:
    """One agent: its source, its key and its HTTP client to the ingest."""

    def __init__(
        self,
        config: AgentConfig,
        resolver: SecretResolver,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = config.agent
        self.source_settings = config.source
        self.resolver = resolver
        self.key = resolver.resolve(self.settings.key)
        self.civic_hash: CivicHash = (
            KeyedCivicHash(resolver.resolve(self.settings.civic_key))
            if self.settings.civic_key
            else drop
        )
        self.clock = clock
        ca = self.settings.ca
        verify: Any = True
        if ca is not None:
            import ssl

            path = ca if ca.is_absolute() else resolver.base_dir / ca
            try:
                verify = ssl.create_default_context(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
                raise AgentConfigError(
                    f"agent.ca: cannot load the CA bundle {path} ({reason})"
                ) from None
        self.client = httpx.AsyncClient(
            base_url=self.settings.url,
            verify=verify,
            timeout=self.settings.timeout_s,
            transport=transport,
            headers={"user-agent": f"ess-agent/{ess_version()}"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _state_path(self) -> Path:
        state = self.settings.state
        return state if state.is_absolute() else self.resolver.base_dir / state

    def next_seq(self) -> int:
        """Above the last one sent, and above the clock's milliseconds, so that an agent
        whose state file is lost still counts upward."""
        try:
            last = int(json.loads(self._state_path().read_text())["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            last = 0
        seq = max(last + 1, int(self.clock() * 1000))
        path = self._state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"seq": seq}))
        tmp.replace(path)
        return seq

    async def read(self, today: date | None = None) -> bytes:
        """The local source's snapshot, encoded for upload."""
        source_type = str(self.source_settings.get("type", ""))
        cls = plugins.load("ess.sources", source_type)
        source = cls.from_config(self.source_settings, self.resolver)
        try:
            ctx = SourceContext(
                tenant=self.settings.tenant,
                cache=NoCache(),
                today=today or date.today(),
                civic_hash=self.civic_hash,
            )
            read = await source.read(ctx, full=True)
        finally:
            await source.aclose()
        return await asyncio.to_thread(encode_snapshot, read.snapshot, self.civic_hash)

    async def _send(self, method: str, target: str, body: bytes = b"") -> httpx.Response:
        headers = agent_auth.signed_headers(
            self.key.reveal(),
            method,
            target,
            self.settings.name,
            self.settings.tenant,
            int(self.clock()),
            body,
        )
        return await self.client.request(method, target, content=body, headers=headers)

    async def _retrying(self, method: str, target: str, body: bytes = b"") -> httpx.Response:
        """One request, sent again after a dropped connection (up to ``retries`` times)."""
        delay = 0.2
        for attempt in range(self.settings.retries + 1):
            try:
                return await self._send(method, target, body)
            except httpx.TransportError as exc:
                if attempt == self.settings.retries:
                    raise AgentError(
                        f"the ingest at {self.settings.url} cannot be reached: {exc!r}"
                    ) from None
                log.warning("connection to the ingest dropped (%r); trying again", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    @staticmethod
    def _refused(response: httpx.Response) -> AgentError:
        try:
            why = str(response.json().get("error", response.text))
        except ValueError:
            why = response.text[:200]
        return AgentError(f"the ingest refused the upload ({response.status_code}): {why}")

    async def _where(self, upload_id: str, resumed: int) -> int:
        """After a drop: the offset the ingest holds, to go on from."""
        await asyncio.sleep(min(0.2 * 2**resumed, 30.0))
        status = await self._retrying("GET", f"/v1/uploads/{upload_id}")
        if status.status_code != 200:
            raise self._refused(status)
        return int(status.json()["offset"])

    async def upload(self, body: bytes) -> UploadResult:
        """Sends ``body`` as the next upload, resuming after dropped connections."""
        seq = self.next_seq()
        digest = hashlib.sha256(body).hexdigest()
        meta = json.dumps(
            {"seq": seq, "size": len(body), "sha256": digest, "version": ess_version()}
        ).encode()
        response = await self._retrying("POST", "/v1/uploads", meta)
        if response.status_code != 200:
            raise self._refused(response)
        upload_id = str(response.json()["upload_id"])
        offset = int(response.json()["offset"])
        chunk = self.settings.chunk_kb * 1024
        resumed = 0
        while offset < len(body):
            part = body[offset : offset + chunk]
            target = f"/v1/uploads/{upload_id}?offset={offset}"
            try:
                response = await self._send("PUT", target, part)
            except httpx.TransportError as exc:
                log.warning("upload dropped at offset %d (%r); resuming", offset, exc)
                resumed += 1
                if resumed > self.settings.retries:
                    raise AgentError(
                        f"the upload to {self.settings.url} dropped {resumed} times; giving up"
                    ) from None
                offset = await self._where(upload_id, resumed)
                continue
            if response.status_code == 409 and "offset" in response.json():
                offset = int(response.json()["offset"])
                continue
            if response.status_code != 200:
                raise self._refused(response)
            offset = int(response.json()["offset"])
        response = await self._retrying("POST", f"/v1/uploads/{upload_id}/commit")
        if response.status_code != 200:
            raise self._refused(response)
        return UploadResult(seq, len(body), resumed, dict(response.json().get("counts", {})))

    async def run_once(self, today: date | None = None) -> UploadResult:
        try:
            body = await self.read(today)
        except SourceError as exc:
            raise AgentError(f"the local source could not be read: {exc}") from None
        return await self.upload(body)

    async def run_forever(self, emit: Callable[[str], None]) -> None:
        """Reads and uploads every ``interval_minutes``; a failed round is reported and the
        next one comes on time (the hosted side sees a stale upload, never a removal)."""
        while True:
            started = time.monotonic()
            try:
                result = await self.run_once()
                emit(f"uploaded {result.size} bytes as {result.seq}: {dict(result.counts)}")
            except (AgentError, plugins.PluginError) as exc:
                emit(f"upload failed: {exc}")
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(1.0, self.settings.interval_minutes * 60 - elapsed))
