"""The tests' own PostgreSQL server: reachable, one fresh database per test, never as root."""

from __future__ import annotations

import os

import psycopg

from tests.pg_cluster import ENV_DSN, PgServer


def test_each_test_gets_a_fresh_empty_database(pg_server: PgServer, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE mark (n int)")
    other = pg_server.create_database()
    try:
        with psycopg.connect(pg_server.dsn(other)) as conn:
            seen = conn.execute("SELECT to_regclass('public.mark') IS NULL").fetchone()
            assert seen == (True,)  # the other database does not see this test's table
    finally:
        pg_server.drop_database(other)


def test_the_own_cluster_runs_unprivileged(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 130000
        if not os.environ.get(ENV_DSN):
            row = conn.execute("SELECT pg_read_file('postmaster.pid')").fetchone()
            assert row is not None
            server_pid = int(str(row[0]).splitlines()[0])
            with open(f"/proc/{server_pid}/status", encoding="ascii") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
            assert uid != 0
