"""A throw-away PostgreSQL server for the tests (a pytest plugin, loaded by tests/conftest.py).

``ESS_TEST_POSTGRES`` (a DSN of a user allowed to create databases) names a server to use.
Without it the session starts a cluster of its own: ``initdb`` in a temporary folder with trust
authentication, a free port on 127.0.0.1 and its unix socket in that folder, run as an
unprivileged user when the tests run as root (PostgreSQL refuses root), stopped and removed at
the end of the session. Under xdist each worker starts its own (a cluster costs about a second),
so no worker waits for another's.

Tests ask for ``pg_dsn``: a fresh, empty database on that server, dropped after the test. The
server binaries are found on PATH or under /usr/lib/postgresql/*/bin (Debian's layout); .ci/run
installs them where missing. Without binaries and without ``ESS_TEST_POSTGRES`` the tests that
need PostgreSQL fail under CI (``CI`` or ``ESS_TEST_POSTGRES_REQUIRED`` set, as .ci/run does)
and are skipped elsewhere, naming what is missing.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

ENV_DSN = "ESS_TEST_POSTGRES"
ENV_REQUIRED = "ESS_TEST_POSTGRES_REQUIRED"
"""Set (as .ci/run and CI systems' ``CI`` do): no server is a failure, never a skip."""
_UNPRIVILEGED = ("postgres", "nobody")
"""System users the cluster runs as when the tests run as root, in order of preference."""


@dataclass(frozen=True)
class PgServer:
    """A reachable server: ``admin_dsn`` may create and drop databases."""

    admin_dsn: str

    def dsn(self, database: str) -> str:
        """The URL of ``database`` on this server (``postgresql:///db?host=...``), without a
        password: a server that asks for one gets it from ``PGPASSWORD`` (set by
        :func:`pg_server` from ``ESS_TEST_POSTGRES``), as ESS's own URLs hold none."""
        info = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        info.pop("password", None)
        info.pop("dbname", None)
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in sorted(info.items()))
        return f"postgresql:///{database}" + (f"?{query}" if query else "")

    def create_database(self, template: str = "template0") -> str:
        """A new database, empty or a copy of ``template`` (which nobody may be connected to)."""
        name = f"ess_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: the newest Debian one, else PATH's."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in _UNPRIVILEGED:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError(
        "the tests run as root and there is no unprivileged user (postgres or nobody) to run "
        "the PostgreSQL test cluster as"
    )


class OwnCluster:
    """A cluster in a temporary folder, started on a free port; :meth:`stop` removes it."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable  # fsync on, as a real server (the benchmarks); off for tests
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="ess-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.started = False
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            check=False,
            timeout=120,
            **kwargs,  # type: ignore[call-overload]
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def start(self) -> PgServer:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "ess",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--no-locale",
        )
        fast = (
            ()
            if self.durable
            else (  # a throw-away cluster: speed over durability
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            )
        )
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                *fast,
                "-c max_connections=100",
                f"-c shared_buffers={'256MB' if self.durable else '32MB'}",
            )
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True
        atexit.register(self.stop)  # also when the session ends without its teardown
        return PgServer(f"postgresql://ess@/postgres?host={quote(str(self.root))}&port={self.port}")

    def cpu_seconds(self) -> float:
        """CPU the server has used so far (the postmaster and its finished backends)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.started and os.environ.get("ESS_TEST_PG_CPU"):
            with contextlib.suppress(OSError, ValueError):
                print(f"\nPostgreSQL test cluster: {self.cpu_seconds():.1f} s of CPU", flush=True)
        if self.started:
            self.started = False
            with contextlib.suppress(Exception):
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server: ``ESS_TEST_POSTGRES``, or a cluster of its own."""
    given = os.environ.get(ENV_DSN)
    if given:
        password = psycopg.conninfo.conninfo_to_dict(given).get("password")
        if password and "PGPASSWORD" not in os.environ:
            os.environ["PGPASSWORD"] = str(password)
        yield PgServer(given)
        return
    bindir = find_binaries()
    if bindir is None:
        missing = (
            f"no PostgreSQL server binaries (initdb) on PATH or under /usr/lib/postgresql, and "
            f"{ENV_DSN} is not set"
        )
        if os.environ.get("CI") or os.environ.get(ENV_REQUIRED):
            pytest.fail(missing + " (.ci/run installs the postgresql package)")
        pytest.skip(missing)
    cluster = OwnCluster(bindir)
    try:
        server = cluster.start()
    except BaseException:
        cluster.stop()
        raise
    try:
        yield server
    finally:
        cluster.stop()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database for one test, dropped after it."""
    name = pg_server.create_database()
    try:
        yield pg_server.dsn(name)
    finally:
        pg_server.drop_database(name)
