"""Connecting: URL parsing, SQLite pragmas, one-line errors, transactions."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import peewee as pw
import pytest

from snakebench.config import Settings
from snakebench.store import (
    StoreError,
    connect,
    connect_from_settings,
    database,
    is_postgres,
    is_sqlite,
    mask_url,
    open_store,
    open_store_once,
    transaction,
)


def _store_error(url: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        connect(url)
    return str(info.value), time.monotonic() - started


def test_sqlite_creates_parent_directory_and_sets_pragmas(tmp_path: Path) -> None:
    file = tmp_path / "a" / "b" / "sb.db"
    db = connect(f"sqlite:///{file}")
    assert isinstance(db, pw.SqliteDatabase)
    assert database.obj is db
    assert file.parent.is_dir()
    pragmas = {
        name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
    }
    # synchronous: 1 = NORMAL
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 10000,
        "foreign_keys": 1,
        "synchronous": 1,
    }
    assert is_sqlite() and not is_postgres()


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = connect("sqlite:///data/rel.db")
    assert db.database == "data/rel.db"
    assert (tmp_path / "data").is_dir()


def test_sqlite_memory_stays_open() -> None:
    db = connect("sqlite:///:memory:")
    assert not db.is_closed()
    db.close()


def test_connect_from_settings(tmp_path: Path) -> None:
    db = connect_from_settings(Settings(database_url=f"sqlite:///{tmp_path}/s.db"))
    assert db.database == f"{tmp_path}/s.db"


@pytest.mark.parametrize(
    "url",
    ["mysql://user:hunter2@localhost/sb", "redis://localhost:6379/0", "snakebench.db", ""],
)
def test_unknown_scheme_is_a_one_line_store_error(url: str) -> None:
    message, _ = _store_error(url)
    assert "\n" not in message
    assert "unsupported database URL" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_closed_postgres_port_fails_fast_with_masked_password(scheme: str) -> None:
    message, elapsed = _store_error(f"{scheme}://sb:hunter2@127.0.0.1:1/x")
    assert message == f"cannot connect to {scheme}://sb:***@127.0.0.1:1/x: connection refused"
    assert elapsed < 5


def test_postgres_url_without_database() -> None:
    message, _ = _store_error("postgres://sb:hunter2@127.0.0.1:5432")
    assert "names no database" in message and "hunter2" not in message


def test_unwritable_sqlite_location() -> None:
    message, _ = _store_error("sqlite:////proc/no-such-dir/sb.db")
    assert "\n" not in message
    assert message.startswith("cannot create directory /proc/no-such-dir")


@pytest.mark.postgres
def test_missing_postgres_database(pg_database: str) -> None:
    # pg_database only makes sure the server is up (or skips / fails as configured).
    message, elapsed = _store_error("postgres://postgres:pw@127.0.0.1:5432/sb_no_such_db")
    assert message == (
        "cannot connect to postgres://postgres:***@127.0.0.1:5432/sb_no_such_db: "
        'database "sb_no_such_db" does not exist'
    )
    assert elapsed < 5


@pytest.mark.postgres
def test_postgres_url_parsing(pg_url: str) -> None:
    db = connect(pg_url.replace("postgres://", "postgresql://"))
    assert isinstance(db, pw.PostgresqlDatabase)
    assert db.connect_params["connect_timeout"] == 5
    assert db.connect_params["host"] == "127.0.0.1"
    assert db.connect_params["port"] == 5432
    assert db.connect_params["user"] == "postgres"
    assert db.connect_params["options"].startswith("-c search_path=")
    assert is_postgres()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgres://u:p%40ss@h:5432/d", "postgres://u:***@h:5432/d"),
        ("postgresql://u:secret@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
        ("postgres://u@h/d", "postgres://u@h/d"),
        ("postgres://h/d", "postgres://h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_transaction_rolls_back_on_error(db: pw.Database) -> None:
    db.execute_sql("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), transaction():
        db.execute_sql("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert db.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    with transaction(immediate=True):
        db.execute_sql("INSERT INTO t VALUES (2)")
    assert db.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 1


def test_immediate_transaction_takes_the_sqlite_write_lock(tmp_path: Path) -> None:
    file = tmp_path / "lock.db"
    connect(f"sqlite:///{file}")
    other = sqlite3.connect(file, timeout=0, isolation_level=None)
    try:
        with transaction():  # deferred: no lock until the first write
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with (
            transaction(immediate=True),
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_open_store_once_keeps_the_proxy_on_one_database_per_process(tmp_path: Path) -> None:
    """Jobs call it: a ThreadWorker's games share one process, and re-pointing the
    proxy under a running game would move its queries to another connection."""
    first = Settings(database_url=f"sqlite:///{tmp_path / 'first.db'}")
    second = Settings(database_url=f"sqlite:///{tmp_path / 'second.db'}")
    db = open_store_once(first)
    assert database.obj is db
    assert open_store_once(first) is db  # opened once: no new connect, no schema read
    other = open_store(second)  # something else in the process points it elsewhere
    assert database.obj is other
    again = open_store_once(first)
    assert database.obj is again and again is not other
    database.close()


def test_open_store_once_gives_a_job_an_open_connection_at_the_latest_schema(
    tmp_path: Path,
) -> None:
    """What a work horse pays per game: one connect (kept for the job's queries, not
    tested and reopened) and one schema read; a database behind is upgraded."""
    from snakebench.store import Model
    from snakebench.store.migrations import current_version, latest_version

    db = open_store_once(Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    try:
        assert not db.is_closed()  # the job's first query uses this connection
        assert current_version(db) == latest_version()
        assert Model.select().count() == 0  # bots are registered by the commands that need them
    finally:
        database.close()
