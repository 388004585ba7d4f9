"""Fixtures shared by every test folder: the throw-away PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, connection

PG_HOST = os.environ.get("SNAKEBENCH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SNAKEBENCH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SNAKEBENCH_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("SNAKEBENCH_TEST_PG_DB", "test")


def _admin_connect(dbname: str) -> connection:
    conn = psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=3
    )
    conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


def _unavailable(reason: str) -> NoReturn:
    """PostgreSQL tests skip on a developer's machine without it, but fail in CI."""
    message = f"PostgreSQL at {PG_HOST}:{PG_PORT} unavailable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The name of a fresh PostgreSQL database for this session, dropped afterwards
    with FORCE, so a worker left connected cannot keep it alive."""
    try:
        admin = _admin_connect(PG_ADMIN_DB)
    except psycopg2.OperationalError as exc:
        _unavailable(str(exc).strip().splitlines()[0])
    name = f"sb_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()
