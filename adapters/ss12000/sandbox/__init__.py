"""A local SS 12000:2020 server for tests, demos and benchmarks.

It serves a sample :class:`Dataset` over real HTTP (uvicorn in a background thread with its own
event loop) with OAuth2 client credentials, spec paging, ``meta.modified.after`` and
``/deletedEntities``, throttling with Retry-After, latency and injected faults, and it can advance
the municipality a term or a year between reads. The server's clock is the only clock: objects
an advance changes are stamped with the time of the advance, as a real server would.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import uvicorn

from adapters.ss12000.sample.dataset import Dataset, Deletion
from adapters.ss12000.sandbox.app import Service
from adapters.ss12000.sandbox.profiles import PROFILES, edlevo_view
from adapters.ss12000.sandbox.store import Generation

DEMO_CLIENT_ID = "ess-demo"
DEMO_CLIENT_SECRET = "ess-demo-secret"  # a sandbox credential, printed on purpose
FAULT_KINDS = ("5xx", "html", "truncated", "malformed")


@dataclass
class SandboxSettings:
    """Behaviour knobs; the running sandbox reads them on every request."""

    latency_ms: float = 0
    fault_rate: float = 0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    requests_per_second: float = 0  # 0: unthrottled
    seed: int = 0
    profile: str = "generic"  # generic, ist or edlevo; fixed once started
    token_lifetime_s: float = 3600
    paging: bool = True  # False: ignore limit and pageToken, like Edlevo before 1.1.0
    client_certs: bool = False  # True: HTTPS that requires a client certificate (mutual TLS)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {self.profile!r}")
        bad = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; known: {', '.join(FAULT_KINDS)}")
        if not 0 <= self.fault_rate <= 1:
            raise ValueError("fault_rate must lie between 0 and 1")


@dataclass(frozen=True)
class SandboxInfo:
    """Where the sandbox listens and the client credentials it accepts."""

    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    profile: str
    ca_cert: str | None = None  # with client_certs: the CA to trust (the source's verify)
    client_cert: str | None = None  # ... and a client certificate with its key, in one PEM

    def to_json(self) -> str:
        out: dict[str, str] = {
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "profile": self.profile,
        }
        if self.ca_cert and self.client_cert:
            out.update(ca_cert=self.ca_cert, client_cert=self.client_cert)
        return orjson.dumps(out).decode()


def _now_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Certs:
    """A throw-away CA (trustme), the server's certificate and one client certificate, as PEM
    files in a private temporary folder for the sandbox's lifetime."""

    folder: Path
    ca: Path
    server: Path  # certificate and key
    client: Path  # certificate and key

    @classmethod
    def make(cls, host: str) -> _Certs:
        import trustme

        folder = Path(tempfile.mkdtemp(prefix="ess-ss12000-sandbox-"))
        ca = trustme.CA(organization_name="ESS SS 12000 sandbox CA")
        paths = cls(folder, folder / "ca.pem", folder / "server.pem", folder / "client.pem")
        ca.cert_pem.write_to_path(str(paths.ca))
        ca.issue_cert(host, "localhost").private_key_and_cert_chain_pem.write_to_path(
            str(paths.server)
        )
        ca.issue_cert("ess-client.example").private_key_and_cert_chain_pem.write_to_path(
            str(paths.client)
        )
        return paths

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Served:
    """The dataset as served now, with Edlevo's activity splits remembered across advances."""

    dataset: Dataset
    splits: dict[str, list[str]] = field(default_factory=dict)
    generation: int = 0


class SS12000Sandbox:
    """An SS 12000 server on loopback serving ``dataset``."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
    ) -> None:
        self.settings = settings or SandboxSettings()
        self.host = host
        self.port = port
        self._profile = PROFILES[self.settings.profile]
        self._lock = threading.Lock()
        self._served = _Served(dataset)
        self._service = Service(
            self.settings, self._profile, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, self._advance_text
        )
        self._publish()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._info: SandboxInfo | None = None
        self._certs: _Certs | None = None

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

    def stats(self) -> dict[str, int]:
        c = self._service.counters
        return {
            "requests": c.requests,
            "pages": c.pages,
            "throttled": c.throttled,
            "faults": c.faults,
            "tokens_issued": c.tokens_issued,
            "unauthorized": c.unauthorized,
        }

    # -- server ---------------------------------------------------------------------------

    @property
    def info(self) -> SandboxInfo:
        if self._info is None:
            raise RuntimeError("the sandbox is not started")
        return self._info

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        port = sock.getsockname()[1]
        tls: dict[str, Any] = {}
        certs: _Certs | None = None
        if self.settings.client_certs:
            certs = _Certs.make(self.host)
            tls = {
                "ssl_certfile": str(certs.server),
                "ssl_ca_certs": str(certs.ca),
                "ssl_cert_reqs": ssl.CERT_REQUIRED,  # no client certificate, no handshake
            }
        config = uvicorn.Config(
            self._service.app(), log_level="warning", access_log=False, lifespan="off", **tls
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name=f"ss12000-sandbox-{port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"the SS 12000 sandbox did not start on {self.host}:{port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        root = f"{'https' if certs else 'http'}://{self.host}:{port}"
        self._certs = certs
        self._info = SandboxInfo(
            base_url=root + self._profile.api_prefix,
            token_url=root + self._profile.token_path,
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            profile=self._profile.name,
            ca_cert=str(certs.ca) if certs else None,
            client_cert=str(certs.client) if certs else None,
        )
        return self._info

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = self._thread = None
        self._info = None
        if self._certs is not None:
            self._certs.remove()
            self._certs = None

    def __enter__(self) -> SS12000Sandbox:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SS12000Sandbox:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


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
