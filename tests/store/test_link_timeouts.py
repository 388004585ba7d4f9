"""A PostgreSQL client cut off mid-transaction must not hold its locks for as long as
the partition lasts (issue 19, the partition-heal drill): every connection tells the
server to roll back a transaction left idle (``idle_in_transaction_session_timeout``)
and gives up on a silent link itself (keepalives, TCP_USER_TIMEOUT)."""

from __future__ import annotations

import time

import peewee as pw
import pytest

from snakebench.store import db as store_db
from snakebench.store.db import DATABASE_DOWN_ERRORS, connect

pytestmark = pytest.mark.postgres


def test_every_connection_bounds_a_silent_link_and_an_idle_transaction(pg_url: str) -> None:
    db = connect(pg_url, keep_open=True)
    try:
        (timeout,) = db.execute_sql("SHOW idle_in_transaction_session_timeout").fetchone()
        assert timeout == "30s"
        params = db.connect_params
        assert (params["keepalives"], params["keepalives_idle"]) == (1, 30)
        assert params["tcp_user_timeout"] == 30_000
    finally:
        db.close()


def test_the_urls_own_query_overrides_the_link_settings(pg_url: str) -> None:
    db = connect(f"{pg_url}&tcp_user_timeout=5000&keepalives_idle=7")
    assert db.connect_params["tcp_user_timeout"] == "5000"
    assert db.connect_params["keepalives_idle"] == "7"


def test_the_server_rolls_back_a_transaction_its_client_left(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "IDLE_IN_TRANSACTION_TIMEOUT", "1s")
    gone = connect(pg_url, keep_open=True)
    gone.execute_sql("CREATE TABLE held (id INTEGER PRIMARY KEY, n INTEGER)")
    gone.execute_sql("INSERT INTO held VALUES (1, 0)")
    gone.execute_sql("BEGIN")
    gone.execute_sql("SELECT n FROM held WHERE id = 1 FOR UPDATE")  # then silence
    time.sleep(2.5)
    other = pw.PostgresqlDatabase(gone.database, **gone.connect_params)
    other.connect()
    try:
        other.execute_sql("SET lock_timeout = '2s'")
        other.execute_sql("UPDATE held SET n = 1 WHERE id = 1")  # the lock was released
        assert other.execute_sql("SELECT n FROM held").fetchone() == (1,)
    finally:
        other.execute_sql("DROP TABLE held")
        other.close()
    with pytest.raises(DATABASE_DOWN_ERRORS):
        gone.execute_sql("SELECT 1")
