"""MicrosoftSandbox: the emulator served by uvicorn over TLS in a background thread.

The thread owns its own event loop, so the sandbox works the same from sync tests, async tests
and the ``ess sandbox microsoft`` command; ``start`` returns once the socket is listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import secrets
import shutil
import socket
import tempfile
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from .app import build_app
from .certs import write_cert_files
from .entra import AppRegistration, Entra
from .odata import TokenCodec
from .pipeline import GraphService
from .settings import SandboxInfo, SandboxSettings, SandboxStats
from .store import Store

START_TIMEOUT_S = 15.0
DOMAIN = "sandbox.onmicrosoft.com"


class SandboxError(RuntimeError):
    """The sandbox could not start (port taken, server failed) or is used before start."""


class MicrosoftSandbox:
    """A local Entra token endpoint + Microsoft Graph v1.0 over HTTPS on loopback."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._settings = settings if settings is not None else SandboxSettings()
        self._workdir = workdir
        self._own_workdir = False
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._service: GraphService | None = None
        self._info: SandboxInfo | None = None
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def settings(self) -> SandboxSettings:
        """Mutable at runtime; a change takes effect on the next request."""
        return self._settings

    @settings.setter
    def settings(self, value: SandboxSettings) -> None:
        self._settings = value
        if self._service is not None:
            self._service.settings = value

    # lifecycle ----------------------------------------------------------------------------

    @property
    def info(self) -> SandboxInfo:
        if self._info is None:
            raise SandboxError("the sandbox is not started")
        return self._info

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="ess-ms-sandbox-"))
            self._own_workdir = True
        certs = write_cert_files(self._workdir, ("127.0.0.1", "localhost", self.host))
        ids = random.Random(f"ess-tenant-{self.settings.seed}")
        tenant_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        client_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        client_secret = "ess~" + secrets.token_urlsafe(30)

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SandboxError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        sock.listen(1024)
        port = sock.getsockname()[1]
        shown_host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        base = f"https://{shown_host}:{port}"

        app_reg = AppRegistration(tenant_id, client_id, client_secret, certs.client_cert)
        entra = Entra(app_reg, base, secrets.token_bytes(32))
        store = Store(self.settings.seed)
        self._service = GraphService(
            store, self.settings, TokenCodec(secrets.token_bytes(32)), f"{base}/v1.0", DOMAIN
        )
        app = build_app(self._service, entra, lambda: {"tenant_id": tenant_id})
        config = uvicorn.Config(
            app,
            ssl_certfile=str(certs.server_cert_path),
            ssl_keyfile=str(certs.server_key_path),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        # uvicorn installs signal handlers only on the main thread, so none are set here.
        self._server = server

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # reported to start() and stop()
                self._failure = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name="ess-microsoft-sandbox", daemon=True)
        self._thread.start()
        waited = 0.0
        while not server.started:
            if not self._thread.is_alive() or waited > START_TIMEOUT_S:
                self.stop()
                raise SandboxError(f"the sandbox server did not start: {self._failure!r}")
            self._thread.join(0.01)
            waited += 0.01
        self._info = SandboxInfo(
            authority=f"{base}/{tenant_id}",
            graph_url=f"{base}/v1.0",
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            client_cert_path=str(certs.client_cert_path),
            client_cert_thumbprint=certs.client_thumbprint_sha1,
            ca_path=str(certs.ca_path),
            inspect_url=f"{base}/_sandbox",
        )
        return self._info

    def _abort_connections(self) -> None:
        """Drop open keep-alive connections: a TLS close would wait for idle clients."""
        server = self._server
        if server is None:
            return
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed in between
                    self._loop.call_soon_threadsafe(self._abort_connections)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self._server = None
        self._loop = None
        self._info = None
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
            self._own_workdir = False

    def __enter__(self) -> MicrosoftSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MicrosoftSandbox:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # inspection and drift -----------------------------------------------------------------

    def _require_service(self) -> GraphService:
        if self._service is None:
            raise SandboxError("the sandbox is not started")
        return self._service

    def state(self) -> dict[str, Any]:
        """The same JSON as ``GET /_sandbox/state``."""
        return {"tenant_id": self.info.tenant_id, **self._require_service().state()}

    def stats(self) -> SandboxStats:
        return self._require_service().stats()

    def reset_stats(self) -> None:
        self._require_service().reset_stats()

    def reset(self, settings: SandboxSettings | None = None) -> None:
        """Empty the tenant and zero the counters, keeping the server, credentials and tokens.

        With ``settings``, their values are copied into the live settings object first."""
        if settings is not None:
            for item in dataclasses.fields(settings):
                setattr(self._settings, item.name, getattr(settings, item.name))
        self._require_service().reset()

    def remove_member(self, group_id: str, user_id: str) -> None:
        """Drift made "by hand": take a member out of a group (or class) outside ESS."""
        self._require_service().remove_member(group_id, user_id)

    def rename_group(self, group_id: str, display_name: str) -> None:
        """Drift made "by hand": rename a group (or class) outside ESS."""
        self._require_service().rename_group(group_id, display_name)
