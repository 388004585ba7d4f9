"""Fixtures for the store tests: every test runs against SQLite AND the real PostgreSQL.

PostgreSQL: the root conftest's ``pg_url``, a fresh schema per test of one throw-away
database ``sb_test_<random>`` per session (created via the ``test`` database on
127.0.0.1:5432, user ``postgres``, trust auth, dropped at the end), selected through the
URL's ``?options=-c search_path=...`` (which also exercises query-string pass-through).
When the server is unreachable the postgres tests skip locally but FAIL under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator

import peewee as pw
import pytest

from snakebench.store import connect, upgrade

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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
