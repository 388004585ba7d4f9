"""Fixtures shared by every test folder: the throw-away PostgreSQL database, a fresh
working directory with the ``snakebench`` CLI run in-process, the one-line error
check, and a priced LLM model.

Test modules cannot import each other (``--import-mode=importlib``), so what several
folders need is a fixture here; a folder's conftest may override one by name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, connection
from typer.testing import CliRunner, Result

from snakebench.config import Settings
from snakebench.store import upsert_model

Invoke = Callable[..., Result]
OneLineError = Callable[..., None]

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


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite database and replay folder, as a new user's empty directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    return tmp_path


@pytest.fixture
def cli(workdir: Path) -> Invoke:
    """``cli(*args, **env)``: ``snakebench ARGS`` in this process, in :func:`workdir`."""
    from snakebench.cli import app  # here: every command's imports, for the folders using it

    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        return runner.invoke(app, list(args), env=env or None, catch_exceptions=False)

    return invoke


def _one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def one_line_error() -> OneLineError:
    """``one_line_error(result, *fragments)``: the command ended with exit status 2 and
    one line, ``error: ...``, holding every fragment."""
    return _one_line_error


@pytest.fixture
def priced(store: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """An LLM model priced $3 in, $15 out per million tokens, with a key variable
    (never called), in the folder's ``store``."""
    monkeypatch.setenv("SB_TEST_KEY", "sk-test")
    upsert_model(
        "pricey",
        provider="openai",
        model_slug="x",
        api_key_env="SB_TEST_KEY",
        price_input_per_m=3.0,
        price_output_per_m=15.0,
    )
    return "pricey"
