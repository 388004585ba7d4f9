"""Fixtures for the store tests: every test runs against SQLite AND the real PostgreSQL.

PostgreSQL: one throw-away database ``sb_test_<random>`` per test session (created via the
``test`` database on 127.0.0.1:5432, user ``postgres``, trust auth, dropped at the end),
and inside it a fresh schema per test, selected through the URL's
``?options=-c search_path=...`` (which also exercises query-string pass-through).
When the server is unreachable the postgres tests skip locally but FAIL under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import peewee as pw
import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, connection

from snakebench.store import connect, upgrade

PG_HOST = os.environ.get("SNAKEBENCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SNAKEBENCH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SNAKEBENCH_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("SNAKEBENCH_TEST_PG_DB", "test")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _admin_connect(dbname: str) -> connection:
    conn = psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=3
    )
    conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema of the session database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin_connect(pg_database)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{pg_database}"
            f"?options=-c%20search_path%3D{schema}"
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty database, once SQLite (a temp file) and once PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/nested/snakebench.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def raw_db(db_url: str) -> Iterator[pw.Database]:
    """Connected (the proxy points at it) but not migrated."""
    db = connect(db_url)
    try:
        yield db
    finally:
        if not db.is_closed():
            db.close()


@pytest.fixture
def db(raw_db: pw.Database) -> pw.Database:
    """Connected and migrated to the latest version."""
    upgrade(raw_db)
    return raw_db
