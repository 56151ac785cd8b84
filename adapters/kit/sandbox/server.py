"""A sandbox's HTTP(S) server: uvicorn in a background thread with its own event loop.

The thread owns its loop, so a sandbox works the same from sync tests, async tests and
``ess sandbox NAME``. The socket is bound first (port 0 becomes the chosen port, so the app can be
built knowing its own URL), ``start`` returns once uvicorn listens, and ``stop`` drops
keep-alive connections so that a TLS close never waits for an idle client.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import uvicorn
from starlette.types import ASGIApp

from .settings import KitSettings
from .tls import SandboxTLS, Workdir

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0

Info = TypeVar("Info")
T = TypeVar("T")
S = TypeVar("S", bound=KitSettings)


class SandboxError(RuntimeError):
    """The sandbox could not start (port taken, server failed) or is used before start."""


class Sandbox(ABC, Generic[Info]):
    """A sandbox's life cycle: ``start``/``stop``, as a context manager sync and async, and
    ``info`` (how a client reaches it) while it runs.

    Each adapter's sandbox class derives from this and says only how it starts and stops;
    ``start`` sets ``_info`` and returns it, ``stop`` clears it."""

    _info: Info | None = None

    @property
    def info(self) -> Info:
        if self._info is None:
            raise SandboxError("the sandbox is not started")
        return self._info

    @abstractmethod
    def start(self) -> Info:
        """Start serving; returns how a client reaches it."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and remove what the sandbox made."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


class SandboxServer(Sandbox[str]):
    """One ASGI app served on ``host:port`` (HTTPS when ``tls`` is given) in a thread."""

    def __init__(
        self,
        app: ASGIApp | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: SandboxTLS | None = None,
        require_client_cert: bool = False,
        name: str = "sandbox",
    ) -> None:
        if require_client_cert and tls is None:
            raise SandboxError("a client certificate can only be required over TLS")
        self.app = app
        self.host = host
        self.port = port
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.name = name
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http(s)://host:port`` of the bound socket (a wildcard host shows as 127.0.0.1)."""
        if self._sock is None:
            raise SandboxError("the sandbox server is not bound")
        port = self._sock.getsockname()[1]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        if ":" in shown:
            shown = f"[{shown}]"
        return f"{'https' if self.tls else 'http'}://{shown}:{port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def info(self) -> str:
        """The base URL while it runs."""
        if self._thread is None:
            raise SandboxError("the sandbox server is not started")
        return self.base_url

    def bind(self) -> str:
        """Take the port now (0: any free one) and return the base URL."""
        if self._sock is None:
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
            self._sock = sock
        return self.base_url

    def _tls_options(self) -> dict[str, Any]:
        if self.tls is None:
            return {}
        options: dict[str, Any] = {
            "ssl_certfile": str(self.tls.server_cert_path),
            "ssl_keyfile": str(self.tls.server_key_path),
        }
        if self.require_client_cert:
            options["ssl_ca_certs"] = str(self.tls.ca_path)
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED  # no client certificate, no handshake
        return options

    def start(self, app: ASGIApp | None = None) -> str:
        """Serve ``app`` (or the one given at construction); returns the base URL once ready."""
        if self._thread is not None:
            return self.base_url
        if app is not None:
            self.app = app
        if self.app is None:
            raise SandboxError("the sandbox server has no app to serve")
        base = self.bind()
        sock = self._sock
        assert sock is not None
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            **self._tls_options(),
        )
        server = uvicorn.Server(config)  # no signal handlers: this is not the main thread
        self._server = server
        self._failure = None

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # reported by start()
                self._failure = exc

        self._thread = threading.Thread(target=run, name=f"ess-{self.name}", daemon=True)
        self._thread.start()
        waited = 0.0
        while not server.started:
            if not self._thread.is_alive() or waited > START_TIMEOUT_S:
                failure = self._failure
                self.stop()
                raise SandboxError(f"the {self.name} server did not start: {failure!r}")
            self._thread.join(0.01)
            waited += 0.01
        return base

    def _abort_connections(self) -> None:
        server = self._server
        if server is None:
            return
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice or before start."""
        if self._server is not None:
            self._server.should_exit = True
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed in between
                    self._loop.call_soon_threadsafe(self._abort_connections)
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._thread = None
        self._server = None
        self._loop = None


class ServedSandbox(Sandbox[Info]):
    """A sandbox served by one :class:`SandboxServer`, with its files in one :class:`Workdir`
    (a folder given to it, kept; or a temporary one, removed on stop). ``start`` sets
    ``_server`` as soon as it has one, so that a failed start is cleaned up by ``stop``."""

    def __init__(self, workdir: Path | None, prefix: str) -> None:
        self._server: SandboxServer | None = None
        self._workdir = Workdir(workdir, prefix)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._info = None
        self._workdir.close()

    def _or_stop(
        self,
        step: Callable[[], T],
        failures: type[BaseException] | tuple[type[BaseException], ...] = BaseException,
    ) -> T:
        """A step of starting (binding or serving ``_server``); when it fails with one of
        ``failures``, stop first, so the port and the folder are freed."""
        try:
            return step()
        except failures:
            self.stop()
            raise


class ConfiguredSandbox(ServedSandbox[Info], Generic[Info, S]):
    """A served sandbox on ``host``:``port`` with settings of ``settings_type`` (the defaults
    when none are given) that may change while it runs: assigning ``settings`` replaces them
    and tells ``_settings_changed``. A subclass sets ``settings_type`` and ``workdir_prefix``
    and builds the rest of itself in ``_configure``."""

    settings_type: type[S]
    workdir_prefix: str

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: S | None = None,
        workdir: Path | None = None,
    ) -> None:
        super().__init__(workdir, self.workdir_prefix)
        self.host = host
        self.port = port
        self._settings: S = settings if settings is not None else self.settings_type()
        self._configure()

    def _configure(self) -> None:
        """Build what the sandbox serves (called once, at the end of ``__init__``)."""

    @property
    def settings(self) -> S:
        """Mutable at runtime; a change takes effect on the next request."""
        return self._settings

    @settings.setter
    def settings(self, value: S) -> None:
        self._settings = value
        self._settings_changed(value)

    def _settings_changed(self, value: S) -> None:
        """Called when ``settings`` is replaced as a whole."""

    def _bind(self, tls: SandboxTLS, name: str) -> tuple[SandboxServer, str]:
        """A server for this sandbox, bound (port 0 becomes the chosen port), and its base
        URL; a failure to bind stops the sandbox first."""
        server = SandboxServer(host=self.host, port=self.port, tls=tls, name=name)
        self._server = server  # so that stop() frees the port and the folder if start fails
        return server, self._or_stop(server.bind, SandboxError)


async def serve_until_cancelled(
    start: Callable[[], Info], stop: Callable[[], None], announce: Callable[[Info], None]
) -> None:
    """The foreground path of ``ess sandbox NAME``: start, announce, serve until cancelled
    (Ctrl+C), and stop even while being cancelled."""
    info = await asyncio.to_thread(start)
    try:
        announce(info)
        await asyncio.Event().wait()
    finally:
        await asyncio.shield(asyncio.to_thread(stop))
