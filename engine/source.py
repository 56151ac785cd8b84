"""The Source protocol: how the engine asks an adapter for a snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from engine.civic_hash import CivicHash, drop
from engine.findings import Finding
from engine.model import Snapshot
from engine.rules import Rule
from engine.secrets import SecretResolver

if TYPE_CHECKING:
    from engine.ingest_store import UploadReader


@dataclass(frozen=True)
class CachedSource:
    """What a source stored after its last complete read: raw records and where it read to."""

    records: Mapping[str, Mapping[str, bytes]]  # entity -> id -> raw record
    checkpoint: str | None  # opaque to the engine (e.g. an RFC 3339 time)
    full_read_at: str | None  # when the last full read completed (RFC 3339), for the period


@runtime_checkable
class SourceCache(Protocol):
    """Journal-backed storage for incremental reads.

    ``save`` is one transaction: a read that fails part way never calls it, so the stored
    snapshot stays as it was.
    """

    async def load(self) -> CachedSource: ...

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None: ...


@dataclass(frozen=True)
class CacheForget:
    """What a source's cache becomes without one person: the records rewritten (entity ->
    id -> body), or why the source still needs them (``held``)."""

    upserts: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)
    held: str = ""


@runtime_checkable
class ForgetsInCache(Protocol):
    """A source class whose cache keeps documents naming many persons (not a row per person)
    declares this hook, so ``person forget`` can remove one person from them
    (:mod:`engine.cache_forget`); it writes nothing, and says ``held`` while the documents
    still list the person."""

    @classmethod
    def forget_cached(cls, records: Mapping[str, Mapping[str, bytes]], key: str) -> CacheForget: ...


@dataclass(frozen=True)
class SourceContext:
    """What the engine lends a source for one read."""

    tenant: str
    cache: SourceCache
    today: date
    emit: Callable[[str, str], None] = lambda level, message: None  # the run log
    progress: Callable[[str, int], None] = lambda entity, count: None  # records read so far
    # what a source may keep of a personnummer, in its snapshot and its cache: the keyed hash
    civic_hash: CivicHash = drop
    # the uploads of on-site agents kept in the installation's journal (an ``agent`` source
    # without an inbox folder reads them); None where no journal is at hand
    agent_uploads: UploadReader | None = None


@dataclass(frozen=True, repr=False)
class SourceRead:
    """A snapshot, the findings made while reading it, and how it was read."""

    snapshot: Snapshot
    findings: tuple[Finding, ...] = ()
    mode: Literal["full", "incremental", "folder"] = "full"
    stats: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SourceRead({self.mode}, {self.snapshot!r}, {len(self.findings)} findings)"


@dataclass(frozen=True)
class MapResult:
    """What a source's mapping made of the records it read: the snapshot, the findings made
    while mapping, and counts for the run log."""

    snapshot: Snapshot
    findings: tuple[Finding, ...]
    stats: dict[str, int]


class SourceError(Exception):
    """A read that cannot complete (auth refused, unreachable, a broken page).

    The message names the problem and where, in words for a support engineer; it never holds a
    secret or a personnummer.
    """


@runtime_checkable
class Source(Protocol):
    """An adapter that reads a student administration system into the canonical model.

    Instances are built by ``from_config`` from the tenant's ``[tenants.X.source]`` table; the
    class attribute ``config_model`` (a pydantic model) validates that table so ``ess config
    check`` can name a bad key before any run.
    """

    config_model: ClassVar[type[Any]]
    rules: ClassVar[Sequence[Rule]]
    """The data-quality rules of the source's own standard, run after the engine's
    (:mod:`engine.rules`); ``()`` when the standard adds none."""

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> Source: ...

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead: ...

    async def aclose(self) -> None: ...
