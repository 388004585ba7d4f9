"""Fixtures shared by every test folder: the throw-away PostgreSQL database (and a
fresh schema of it per test), a fresh working directory with the ``snakebench`` CLI
run in-process, a store opened from the environment, a database of the machine's Redis
claimed for this session (flushed around each test that takes it), real ``rq worker``
processes on it, the one-line error check, a recorded stop command, and a priced LLM
model.

Test modules cannot import each other (``--import-mode=importlib``), so what several
folders need is a fixture here; a folder's conftest may override one by name.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg2
import pytest
import redis
import typer
from psycopg2 import sql
from typer.testing import CliRunner, Result

from snakebench.config import Settings
from snakebench.queueing import WORKER_COMMAND, QueueError, connect_redis, recovery
from snakebench.store import open_store, upsert_model
from snakebench.testing import support
from snakebench.testing.support import Worker

Invoke = Callable[..., Result]
Spawn = Callable[..., "subprocess.Popen[bytes]"]
OneLineError = Callable[..., None]
StoreEnv = Callable[[str, str], Settings]
StartWorker = Callable[..., Worker]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The name of a fresh PostgreSQL database for this session, dropped afterwards
    with FORCE, so a worker left connected cannot keep it alive. Skipped without the
    server, failed under ``CI=true``."""
    try:
        with support.throwaway_pg_database() as name:
            yield name
    except psycopg2.OperationalError as exc:
        where, reason = f"{support.PG_HOST}:{support.PG_PORT}", str(exc).strip().splitlines()[0]
        support.unavailable(f"PostgreSQL at {where} unavailable: {reason}")


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema of the session database
    (selected through the URL's ``search_path`` option, which reaches workers given it
    as ``DATABASE_URL``); the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = support.pg_admin(pg_database)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield support.pg_url(pg_database, schema)
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


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


@pytest.fixture(scope="session")
def redis_db_url() -> Iterator[str]:
    """The URL of a database of the machine's Redis (127.0.0.1:6379) claimed for this
    test session: found free at run time and claimed in Redis itself
    (:func:`snakebench.testing.support.claim_redis_db`), so two sessions (two
    checkouts, xdist workers) never share one and never wait for each other; flushed
    and given back at the end. Skipped without Redis, failed under ``CI=true``."""
    try:
        claim = support.claim_redis_db()
    except QueueError as exc:
        support.unavailable(str(exc))
    with support.holding(claim):
        yield claim.url


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
def real_redis(redis_db_url: str) -> Iterator[redis.Redis]:
    """The session's database of the machine's Redis (:func:`redis_db_url`), flushed
    before and after the test."""
    client = connect_redis(redis_db_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def start_worker(redis_db_url: str, tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(burst=True, command=WORKER_COMMAND, env={...}, from_env=False)``:
    a real ``rq worker`` started as ``command`` says, on :func:`redis_db_url` (given as
    ``--url``, or with ``from_env`` left to the worker to read from ``REDIS_URL``, as a
    stock ``rq worker`` does), in the current directory and this test's environment
    plus ``env``, logging to ``tmp_path/worker-NAME.log``. Returns at once; any still
    running afterwards are killed, their work horses too."""
    started: list[Worker] = []

    def start(
        *,
        burst: bool = True,
        command: str = WORKER_COMMAND,
        env: dict[str, str] | None = None,
        from_env: bool = False,
    ) -> Worker:
        name = f"test-{uuid.uuid4().hex[:8]}"
        worker = support.start_worker(
            None if from_env else redis_db_url,
            name=name,
            log=tmp_path / f"worker-{name}.log",
            env={**os.environ, "REDIS_URL": redis_db_url, **(env or {})},
            cwd=Path.cwd(),
            burst=burst,
            command=command,
        )
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            support.kill_horses(worker.pid)
            if worker.alive():
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(argv, env)``: a subprocess (a web server, a standalone rq-dashboard) with
    output and errors logged to ``tmp_path/process-N.log``; any still running are
    killed after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (tmp_path / f"process-{len(started)}.log").open("wb") as log:
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
    from snakebench.cli.main import app  # here: every command's imports, for the folders using it

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
