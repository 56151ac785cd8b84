"""Where the ingest keeps uploads: a folder (the inbox) that the hosted tenants' ``agent``
sources read.

Layout: ``partial/<upload id>.part`` (bytes received so far) beside ``.json`` (who sends it,
its size and hash); ``tenants/<tenant>/latest.snap`` and ``latest.json`` (the latest accepted
upload); ``agents/<agent>.json`` (its last accepted sequence number, upload time and version).
Every file is written whole to a temporary name and renamed over the old one, so a reader
sees the old upload or the new one, never half of one. One ingest process owns an inbox.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""An agent's or tenant's name as it may appear in a file name."""


@dataclass(frozen=True)
class Pending:
    """An upload begun and not yet committed."""

    upload_id: str
    agent: str
    tenant: str
    seq: int
    size: int
    sha256: str
    version: str


@dataclass(frozen=True)
class Accepted:
    """The latest upload accepted for a tenant (or from an agent)."""

    agent: str
    tenant: str
    seq: int
    received_at: str  # RFC 3339, UTC
    version: str
    size: int
    counts: dict[str, int]
    upload_id: str = ""

    @property
    def received(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


class Inbox:
    """The folder; every method is blocking file work (call it off the event loop)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _partial(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise KeyError(upload_id)
        return self.root / "partial" / upload_id

    def begin(
        self, agent: str, tenant: str, seq: int, size: int, sha256: str, version: str
    ) -> Pending:
        """A new upload, or the one this agent already began with this sequence number (an
        agent that lost the answer asks again)."""
        for pending in self.pending_of(agent):
            if pending.seq == seq and pending.tenant == tenant:
                return pending
            self.discard(pending.upload_id)  # an older upload the agent gave up on
        pending = Pending(secrets.token_hex(16), agent, tenant, seq, size, sha256, version)
        part = self._partial(pending.upload_id)
        _write(part.with_suffix(".part"), b"")
        _write(part.with_suffix(".json"), json.dumps(asdict(pending)).encode())
        return pending

    def pending(self, upload_id: str) -> Pending:
        data = _read_json(self._partial(upload_id).with_suffix(".json"))
        if data is None:
            raise KeyError(upload_id)
        return Pending(**data)

    def pending_of(self, agent: str) -> list[Pending]:
        folder = self.root / "partial"
        if not folder.is_dir():
            return []
        found = []
        for meta in folder.glob("*.json"):
            data = _read_json(meta)
            if data is not None and data.get("agent") == agent:
                found.append(Pending(**data))
        return found

    def offset(self, upload_id: str) -> int:
        return self._partial(upload_id).with_suffix(".part").stat().st_size

    def append(self, upload_id: str, offset: int, chunk: bytes) -> int:
        """Writes ``chunk`` at ``offset`` if that is where the upload stands; the new offset."""
        part = self._partial(upload_id).with_suffix(".part")
        with open(part, "r+b") as f:
            end = f.seek(0, os.SEEK_END)
            if offset != end:
                return end
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
            return end + len(chunk)

    def body(self, upload_id: str) -> bytes:
        return self._partial(upload_id).with_suffix(".part").read_bytes()

    def discard(self, upload_id: str) -> None:
        part = self._partial(upload_id)
        for suffix in (".part", ".json"):
            part.with_suffix(suffix).unlink(missing_ok=True)

    def prune(self, idle_since: datetime) -> int:
        """Removes the partial uploads last written before ``idle_since`` (the agent gave up
        or never came back); how many. Accepted snapshots live elsewhere (``tenants/``)."""
        folder = self.root / "partial"
        if not folder.is_dir():
            return 0
        cutoff = idle_since.timestamp()
        pruned = 0
        for meta in folder.glob("*.json"):
            part = meta.with_suffix(".part")
            try:
                touched = max(p.stat().st_mtime for p in (meta, part) if p.exists())
            except (OSError, ValueError):
                continue  # removed meanwhile
            if touched < cutoff:
                meta.unlink(missing_ok=True)
                part.unlink(missing_ok=True)
                pruned += 1
        return pruned

    def accept(self, pending: Pending, body: bytes, counts: dict[str, int]) -> Accepted:
        """Makes the upload its tenant's latest and records the agent's sequence number."""
        accepted = Accepted(
            pending.agent,
            pending.tenant,
            pending.seq,
            datetime.now(UTC).isoformat(timespec="seconds"),
            pending.version,
            len(body),
            counts,
            pending.upload_id,
        )
        folder = self.root / "tenants" / pending.tenant
        _write(folder / "latest.snap", body)
        meta = json.dumps(asdict(accepted)).encode()
        _write(folder / "latest.json", meta)
        _write(self.root / "agents" / f"{pending.agent}.json", meta)
        self.discard(pending.upload_id)
        return accepted

    def last_of_agent(self, agent: str) -> Accepted | None:
        data = _read_json(self.root / "agents" / f"{agent}.json")
        return Accepted(**data) if data else None

    def latest_meta(self, tenant: str) -> Accepted | None:
        data = _read_json(self.root / "tenants" / tenant / "latest.json")
        return Accepted(**data) if data else None

    def latest(self, tenant: str) -> tuple[Accepted, bytes] | None:
        """The tenant's latest accepted upload and its body, read as one (the body is renamed
        into place before its description)."""
        folder = self.root / "tenants" / tenant
        data = _read_json(folder / "latest.json")
        if data is None:
            return None
        return Accepted(**data), (folder / "latest.snap").read_bytes()

    def agents(self) -> list[Accepted]:
        folder = self.root / "agents"
        if not folder.is_dir():
            return []
        out = []
        for meta in sorted(folder.glob("*.json")):
            data = _read_json(meta)
            if data:
                out.append(Accepted(**data))
        return out
