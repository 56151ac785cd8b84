"""The hosted tenant's source (``type = "agent"``): the latest snapshot its on-site agent
uploaded, read from the ingest's inbox folder (``inbox = "..."``) or, without one, from the
installation's journal where ``ess ingest`` with a ``[journal]`` keeps uploads, so that planning
and applying from it is the engine's normal path.

An upload older than ``max_age_hours`` (or none at all) is a source error: the run stops
before planning, so a silent agent never makes anything look removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from engine.agent_wire import WireError, decode_snapshot
from engine.config import LoadedConfig
from engine.ingest_inbox import Accepted
from engine.ingest_store import InboxStore, UploadReader
from engine.journal import Journal, JournalError
from engine.rules import Rule
from engine.secrets import SecretResolver
from engine.source import SourceContext, SourceError, SourceRead
from engine.views import AgentStatusView


class AgentSourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str = "agent"
    # the ingest's inbox folder (shared with the ingest); None: the installation's journal
    inbox: Path | None = None
    max_age_hours: float = Field(default=26.0, gt=0)
    max_snapshot_mb: int = Field(default=4096, ge=1)


class AgentSource:
    config_model: ClassVar[type[Any]] = AgentSourceConfig
    rules: ClassVar[Sequence[Rule]] = ()

    def __init__(self, cfg: AgentSourceConfig, base_dir: Path) -> None:
        self.cfg = cfg
        self.inbox: InboxStore | None = None
        if cfg.inbox is not None:
            self.inbox = InboxStore(cfg.inbox if cfg.inbox.is_absolute() else base_dir / cfg.inbox)

    def store(self, journal_uploads: UploadReader | None) -> tuple[UploadReader | None, str]:
        """Where this source's uploads are, and its name for messages."""
        if self.inbox is not None:
            return self.inbox, f"the agent inbox {self.inbox.root}"
        return journal_uploads, "the journal"

    @classmethod
    def from_config(cls, settings: Mapping[str, Any], secrets: SecretResolver) -> AgentSource:
        return cls(AgentSourceConfig.model_validate(dict(settings)), secrets.base_dir)

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        store, where = self.store(ctx.agent_uploads)
        if store is None:
            raise SourceError(
                "the agent source has no inbox folder and this read has no journal to find "
                'uploads in; set inbox = "..." or run it from the hosted installation'
            )
        try:
            found = await store.latest(ctx.tenant)
        except (OSError, JournalError) as exc:
            raise SourceError(f"{where} cannot be read: {exc}") from None
        if found is None:
            raise SourceError(
                f"no upload from an on-site agent for tenant {ctx.tenant!r} in {where}"
            )
        accepted, body = found
        age_h = (datetime.now(UTC) - accepted.received).total_seconds() / 3600
        if age_h > self.cfg.max_age_hours:
            raise SourceError(
                f"the latest upload from agent {accepted.agent!r} is {age_h:.1f} h old (received "
                f"{accepted.received_at}), older than max_age_hours = {self.cfg.max_age_hours}; "
                "check that the agent runs and reaches the ingest"
            )
        try:
            snapshot = await asyncio.to_thread(
                decode_snapshot,
                body,
                max_size=self.cfg.max_snapshot_mb * 1024 * 1024,
                as_of=ctx.today,
            )
        except WireError as exc:
            raise SourceError(f"the latest upload for {ctx.tenant!r} is unusable: {exc}") from None
        ctx.emit("info", f"snapshot uploaded by agent {accepted.agent} at {accepted.received_at}")
        return SourceRead(snapshot, (), "full", snapshot.counts())

    async def aclose(self) -> None:
        return None


async def agent_statuses(
    cfg: LoadedConfig, tenant_id: str | None = None, journal: Journal | None = None
) -> list[AgentStatusView]:
    """Every ``agent`` source of the configured tenants (or one tenant), with its latest
    accepted upload, from its inbox folder or the installation's ``journal``."""
    from engine.journal.agent_uploads import JournalUploads

    in_journal = JournalUploads(journal) if journal is not None else None
    out: list[AgentStatusView] = []
    now = datetime.now(UTC)
    for tid, tenant in cfg.config.tenants.items():
        if tenant_id is not None and tid != tenant_id:
            continue
        for table in tenant.source_tables().values():
            if table.get("type") != "agent":
                continue
            source = AgentSource.from_config(table, cfg.secrets())
            store, where = source.store(in_journal)
            meta: Accepted | None = None
            if store is not None:
                meta = await store.latest_meta(tid)
            max_age = source.cfg.max_age_hours
            out.append(
                AgentStatusView(
                    tenant=tid,
                    inbox=str(source.inbox.root) if source.inbox is not None else where,
                    agent=meta.agent if meta else None,
                    last_upload=meta.received if meta else None,
                    version=meta.version if meta else None,
                    seq=meta.seq if meta else None,
                    counts=dict(meta.counts) if meta else {},
                    max_age_hours=max_age,
                    stale=meta is None or (now - meta.received).total_seconds() > max_age * 3600,
                )
            )
    return out
