"""Fixtures shared by every test folder: the throw-away PostgreSQL database, a fresh
working directory with the ``snakebench`` CLI run in-process, a store opened from the
environment, the machine's Redis on a folder's own db (flushed), logged subprocesses,
the one-line error check, a recorded stop command, and a priced LLM model.

Test modules cannot import each other (``--import-mode=importlib``), so what several
folders need is a fixture here; a folder's conftest may override one by name.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import psycopg2
import pytest
import redis
import typer
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT, connection
from typer.testing import CliRunner, Result

from snakebench.config import Settings
from snakebench.queueing import connect_redis, recovery
from snakebench.store import open_store, upsert_model

Invoke = Callable[..., Result]
OneLineError = Callable[..., None]
StoreEnv = Callable[[str, str], Settings]
FlushedRedis = Callable[[int], redis.Redis]
Spawn = Callable[..., "subprocess.Popen[bytes]"]

MACHINE_REDIS = "redis://127.0.0.1:6379"  # a folder's own database number follows

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


def _store_conftest_pg_url() -> object:
    """tests/store/conftest.py's ``pg_url`` (a fresh schema of :func:`pg_database` per
    test), loaded from its file as test modules cannot import each other."""
    path = Path(__file__).parent / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_root_store_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pg_url


pg_url = _store_conftest_pg_url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database's URL: once SQLite (``sb.db`` in ``tmp_path``), once a fresh
    PostgreSQL schema (:func:`pg_url`)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path / 'sb.db'}"


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreEnv:
    """``store_env(database_url, redis_url)``: the environment of a command run for
    this test (DATABASE_URL, replays under ``tmp_path``, REDIS_URL) set, and that
    store opened; its settings."""

    def use(database_url: str, redis_url: str) -> Settings:
        env = {
            "DATABASE_URL": database_url,
            "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
            "REDIS_URL": redis_url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env()
        open_store(settings)
        return settings

    return use


@pytest.fixture
def redis_db_url(redis_db: int) -> str:
    """The URL of the machine's Redis on the folder's own database (its ``redis_db``
    fixture; see :func:`flushed_redis`)."""
    return f"{MACHINE_REDIS}/{redis_db}"


@pytest.fixture
def store(workdir: Path, store_env: StoreEnv, redis_db_url: str) -> Settings:
    """A fresh SQLite store in :func:`workdir`; the environment (DATABASE_URL, replays,
    REDIS_URL: :func:`redis_db_url`) points at it, as for a command run in this
    directory."""
    return store_env(f"sqlite:///{workdir / 'sb.db'}", redis_db_url)


@pytest.fixture
def any_store(
    workdir: Path, any_database_url: str, store_env: StoreEnv, redis_db_url: str
) -> Settings:
    """:func:`store`, once on SQLite and once on PostgreSQL."""
    return store_env(any_database_url, redis_db_url)


@pytest.fixture
def flushed_redis() -> Iterator[FlushedRedis]:
    """``flushed_redis(db)``: the machine's Redis (127.0.0.1:6379) on database ``db``,
    flushed now and after the test. Each folder keeps its own number, so folders run
    side by side never meet: 8 spending, 9 browser, 10 evaluation, 11 queueing, 12 web,
    13 dispatch, 14 integration."""
    clients: list[redis.Redis] = []

    def connect(db: int) -> redis.Redis:
        client = connect_redis(f"{MACHINE_REDIS}/{db}")
        client.flushdb()
        clients.append(client)
        return client

    try:
        yield connect
    finally:
        for client in clients:
            client.flushdb()


@pytest.fixture
def real_redis(flushed_redis: FlushedRedis, redis_db: int) -> redis.Redis:
    """The machine's Redis on the folder's own database (its ``redis_db`` fixture),
    flushed before and after."""
    return flushed_redis(redis_db)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(argv, env)``: a subprocess with output and errors logged to
    ``tmp_path/worker-N.log``; any still running are killed after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def stopped_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the jobs sent RQ's stop command (recorded, not sent) during the test."""
    stopped: list[str] = []
    monkeypatch.setattr(
        recovery,
        "send_stop_job_command",
        lambda conn, job_id, serializer: stopped.append(job_id),
    )
    return stopped


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite database and replay folder, as a new user's empty directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sb.db'}")
    monkeypatch.setenv("SNAKEBENCH_REPLAY_DIR", str(tmp_path / "replays"))
    return tmp_path


def _invoker(app: typer.Typer) -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        return runner.invoke(app, list(args), env=env or None, catch_exceptions=False)

    return invoke


@pytest.fixture
def cli_runner() -> Callable[[typer.Typer], Invoke]:
    """``cli_runner(app)``: ``invoke(*args, **env)``, the Typer ``app`` run with ARGS in
    this process (its exceptions raised, not caught), ``env`` added to the environment."""
    return _invoker


@pytest.fixture
def cli(workdir: Path) -> Invoke:
    """``cli(*args, **env)``: ``snakebench ARGS`` in this process, in :func:`workdir`."""
    from snakebench.cli import app  # here: every command's imports, for the folders using it

    return _invoker(app)


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
