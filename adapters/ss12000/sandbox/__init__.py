"""A local SS 12000:2020 server for tests, demos and benchmarks.

It serves a sample :class:`Dataset` over real HTTP (the kit's server thread; HTTPS with a client
certificate required when ``client_certs``) with OAuth2 client credentials, spec paging,
``meta.modified.after`` and ``/deletedEntities``, and the kit's throttling with Retry-After,
latency and injected faults (adapters.kit.sandbox), and it can advance
the municipality a term or a year between reads. The server's clock is the only clock: objects
an advance changes are stamped with the time of the advance, as a real server would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.kit.sandbox import SandboxServer, ServedSandbox, make_tls
from adapters.ss12000.sample.dataset import Dataset, Deletion
from adapters.ss12000.sandbox.app import Service
from adapters.ss12000.sandbox.profiles import PROFILES, edlevo_view
from adapters.ss12000.sandbox.settings import FAULT_KINDS, SandboxInfo, SandboxSettings
from adapters.ss12000.sandbox.store import Generation

__all__ = ["FAULT_KINDS", "SS12000Sandbox", "SandboxInfo", "SandboxSettings"]

DEMO_CLIENT_ID = "ess-demo"
DEMO_CLIENT_SECRET = "ess-demo-secret"  # a sandbox credential, printed on purpose


def _now_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Served:
    """The dataset as served now, with Edlevo's activity splits remembered across advances."""

    dataset: Dataset
    splits: dict[str, list[str]] = field(default_factory=dict)
    generation: int = 0


class SS12000Sandbox(ServedSandbox[SandboxInfo]):
    """An SS 12000 server on loopback serving ``dataset``."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
    ) -> None:
        super().__init__(None, "ess-ss12000-sandbox-")
        self.settings = settings or SandboxSettings()
        self.host = host
        self.port = port
        self._profile = PROFILES[self.settings.profile]
        self._lock = threading.Lock()
        self._served = _Served(dataset)
        self._service = Service(
            self.settings,
            self._profile,
            DEMO_CLIENT_ID,
            DEMO_CLIENT_SECRET,
            self._advance_text,
            self._describe,
        )
        self._publish()

    # -- data -----------------------------------------------------------------------------

    @property
    def dataset(self) -> Dataset:
        return self._served.dataset

    def _publish(self) -> None:
        served = self._served
        entities = served.dataset.entities
        if self._profile.name == "edlevo":
            entities, splits = edlevo_view(entities)
            for aid, ids in splits.items():
                known = served.splits.setdefault(aid, [])
                known.extend(i for i in ids if i not in known)
        deletions: list[tuple[datetime, str, str]] = []
        for d in served.dataset.deletions:
            ids = served.splits.get(d.id, [d.id]) if d.entity == "activities" else [d.id]
            deletions.extend((d.deleted_at, d.entity, i) for i in ids)
        served.generation += 1
        self._service.store.publish(
            Generation.build(
                served.generation, {k: list(v) for k, v in entities.items()}, deletions
            )
        )

    def advance(self, kind: str = "term", as_of: date | None = None) -> None:
        """Move the municipality a term or a year on (the generator's advance) and serve it."""
        from adapters.ss12000.sample.advance import advance as advance_dataset

        if kind not in ("term", "year"):
            raise ValueError(f"kind must be 'term' or 'year', not {kind!r}")
        with self._lock:
            old = self._served.dataset
            day = as_of or old.manifest.as_of + timedelta(days=140 if kind == "term" else 365)
            new = advance_dataset(old, kind="term" if kind == "term" else "year", as_of=day)
            self._served.dataset = _restamp(old, new, datetime.now(UTC))
            self._publish()

    def _advance_text(self, kind: str, as_of: str | None) -> dict[str, Any]:
        self.advance(kind, date.fromisoformat(as_of) if as_of else None)
        m = self.dataset.manifest
        return {"generation": m.generation, "as_of": m.as_of.isoformat(), **self.dataset.counts()}

    def revoke_tokens(self) -> None:
        """Forget every issued token, as a server restart or a key rotation would."""
        self._service.revoke_tokens()

    def _describe(self) -> dict[str, Any]:
        """``GET /_sandbox/state``: what is served now."""
        m = self.dataset.manifest
        return {
            "profile": self._profile.name,
            "generation": m.generation,
            "as_of": m.as_of.isoformat(),
            "counts": self.dataset.counts(),
        }

    def stats(self) -> dict[str, int]:
        return self._service.stats()

    # -- server ---------------------------------------------------------------------------

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        tls = None
        client_cert = None
        if self.settings.client_certs:
            tls = make_tls(self._workdir.path, (self.host,), "ESS SS 12000 sandbox")
            client_cert = tls.issue_client_cert("ess-client.example")
        server = SandboxServer(
            self._service.chaos,
            host=self.host,
            port=self.port,
            tls=tls,
            require_client_cert=tls is not None,
            name="ss12000-sandbox",
        )
        self._server = server  # so that stop() frees the port and the folder if start fails
        root = self._or_stop(server.start)
        self._info = SandboxInfo(
            base_url=root + self._profile.api_prefix,
            token_url=root + self._profile.token_path,
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            profile=self._profile.name,
            ca_cert=str(tls.ca_path) if tls else None,
            client_cert=str(client_cert) if client_cert else None,
        )
        return self._info


def _restamp(old: Dataset, new: Dataset, now: datetime) -> Dataset:
    """Stamp what the advance changed with the server's clock, so clients reading
    ``meta.modified.after`` and ``/deletedEntities`` since their last read see it."""
    stamp = _now_text(now)
    entities: dict[str, list[dict[str, Any]]] = {}
    for entity, records in new.entities.items():
        before = {
            r["id"]: (r.get("meta") or {}).get("modified") for r in old.entities.get(entity, [])
        }
        out = []
        for rec in records:
            meta = rec.get("meta") or {}
            was = before.get(rec["id"], _MISSING)
            if was is _MISSING:
                rec = {**rec, "meta": {"created": stamp, "modified": stamp}}
            elif was != meta.get("modified"):
                rec = {**rec, "meta": {"created": meta.get("created", stamp), "modified": stamp}}
            out.append(rec)
        entities[entity] = out
    known = {(d.entity, d.id) for d in old.deletions}
    deletions = [
        d if (d.entity, d.id) in known else Deletion(d.entity, d.id, now) for d in new.deletions
    ]
    return Dataset(entities=entities, deletions=deletions, manifest=new.manifest)


_MISSING: Any = object()
