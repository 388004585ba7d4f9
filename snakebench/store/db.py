"""The database handle: one proxy every model binds to, and how a URL becomes a database.

Models are declared once against :data:`database` (a :class:`peewee.DatabaseProxy`) and
the real database is chosen at run time from ``DATABASE_URL``, so the same code runs on
the default SQLite file and on PostgreSQL (Heroku/Railway inject ``postgres://...``).

Connection problems surface as :class:`StoreError` with a one-line message naming the
URL (password masked) and the cause, because a raw driver traceback at start-up tells an
operator less than "cannot connect to postgres://u:***@db:5432/x: connection refused".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import peewee as pw

from snakebench.config import Settings, get_settings, mask_url

database = pw.DatabaseProxy()
"""Every model is bound to this proxy; :func:`connect` points it at a real database."""

Database = pw.Database
"""What :func:`connect` returns, named here so callers outside the store need no peewee."""

NOT_READY_ERRORS: tuple[type[Exception], ...] = (pw.OperationalError, pw.ProgrammingError)
"""What a read raises on a database whose tables are not there yet (never upgraded)."""
DATABASE_DOWN_ERRORS: tuple[type[Exception], ...] = (pw.OperationalError, pw.InterfaceError)
"""What a query raises when the database cannot be reached (or lost the connection):
worth running the job again later, unlike bad data."""

SQLITE_PRAGMAS: dict[str, object] = {
    # WAL lets readers (web, monitor) run while a worker writes.
    "journal_mode": "wal",
    # Several worker processes share one file: wait for the write lock instead of failing.
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    # Safe with WAL (no corruption on power loss, at worst the last commits are lost).
    "synchronous": "normal",
}
POSTGRES_CONNECT_TIMEOUT = 5  # seconds; an unreachable host must not hang start-up
# A connection whose other end went silent (a partition, a pulled cable) fails within
# about 30-60 s instead of hanging for the kernel's 15 minutes: unacknowledged data
# (TCP_USER_TIMEOUT) or no keepalive answer. A long query's wait is neither. So a
# worker cut off from PostgreSQL fails its job with the reason, and RQ runs it again.
# A URL's own query (?keepalives_idle=...) overrides any of these.
POSTGRES_LINK_PARAMS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms
}
# The server's side: a transaction whose client went silent is rolled back after this,
# its row locks released. Without it, a worker cut off mid-commit holds the models'
# rows (complete_game locks them) and every other worker's commit waits for as long as
# the partition lasts (the partition-heal drill, docs/RELIABILITY.md). Every
# transaction of ours is SQL only, milliseconds long: none idles legitimately.
IDLE_IN_TRANSACTION_TIMEOUT = "30s"


class StoreError(Exception):
    """The database cannot be used as configured; the message is one line for a human."""


def connect(url: str, *, keep_open: bool = False) -> pw.Database:
    """Open the database ``url`` names, point :data:`database` at it and return it.

    The connection is tried once here so a bad URL fails now with a :class:`StoreError`,
    then closed again: peewee reopens one per thread on first use, and a connection
    opened before an RQ worker forks must not be shared with the work horse.
    ``keep_open=True`` leaves it open for this thread's next query instead: for a job,
    which runs where no fork follows and would otherwise connect twice (on PostgreSQL
    a second login). An in-memory SQLite database (``sqlite:///:memory:``) always stays
    open, else it would vanish.
    """
    db = _build(url)
    try:
        db.connect()
    except (pw.PeeweeException, OSError) as exc:
        raise StoreError(f"cannot connect to {mask_url(url)}: {_reason(exc, url)}") from None
    if not keep_open and not _is_memory(db):
        db.close()
    _replace_proxied(db)
    return db


def connect_from_settings(settings: Settings | None = None) -> pw.Database:
    """:func:`connect` to ``settings.database_url`` (the environment's when not given)."""
    return connect((settings or get_settings()).database_url)


def ping(db: pw.Database) -> None:
    """Raise unless ``db`` answers a trivial query (a health check)."""
    answering: Any = db  # peewee's stubs leave execute_sql untyped
    answering.execute_sql("SELECT 1")


def unreachable_reason(url: str) -> str | None:
    """Why the database ``url`` names does not answer now (one line, password masked),
    or None when it does: a connection of its own, opened, asked ``SELECT 1`` and closed,
    so the caller's connections are left as they are (a worker checks this before it
    forks the next work horse, which must not inherit an open connection)."""
    try:
        db = _build(url)
        db.connect()
    except StoreError as exc:
        return str(exc)
    except (pw.PeeweeException, OSError) as exc:
        return f"cannot connect to {mask_url(url)}: {_reason(exc, url)}"
    try:
        ping(db)
    except (pw.PeeweeException, OSError) as exc:
        return f"{mask_url(url)} does not answer: {_reason(exc, url)}"
    finally:
        db.close()
    return None


def is_sqlite(db: pw.Database | pw.DatabaseProxy | None = None) -> bool:
    """True when ``db`` (default: the proxied database) is SQLite."""
    return isinstance(_unwrap(db), pw.SqliteDatabase)


def is_postgres(db: pw.Database | pw.DatabaseProxy | None = None) -> bool:
    """True when ``db`` (default: the proxied database) is PostgreSQL."""
    return isinstance(_unwrap(db), pw.PostgresqlDatabase)


@contextmanager
def transaction(*, immediate: bool = False, db: pw.Database | None = None) -> Iterator[None]:
    """Run the block in one transaction (a savepoint when already inside one).

    ``immediate=True`` takes SQLite's write lock at ``BEGIN`` (``BEGIN IMMEDIATE``). Use it
    for read-then-write blocks when several processes write: a deferred transaction that
    read first cannot upgrade to a writer once another process committed, and SQLite then
    fails at once with "database is locked" instead of waiting ``busy_timeout``.
    PostgreSQL has no such mode; there the flag does nothing (lock rows or take an
    advisory lock inside the block instead).
    """
    target: pw.Database | pw.DatabaseProxy = database if db is None else db
    if immediate and is_sqlite(target):
        ctx = target.atomic(lock_type="IMMEDIATE")
    else:
        ctx = target.atomic()
    with ctx:
        yield


def _build(url: str) -> pw.Database:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return _build_sqlite(url)
    if scheme in ("postgres", "postgresql"):
        return _build_postgres(url)
    raise StoreError(
        f"unsupported database URL {mask_url(url)!r}: use sqlite:///PATH or postgres://..."
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite://`` URL (None: in memory). ``sqlite:///rel/path.db``
    is relative, ``sqlite:////abs/path.db`` absolute."""
    path = url.split("://", 1)[1].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path
    return None if path in ("", ":memory:") else Path(unquote(path)).expanduser()


def _build_sqlite(url: str) -> pw.SqliteDatabase:
    file = sqlite_file(url)
    if file is None:
        return pw.SqliteDatabase(":memory:", pragmas=SQLITE_PRAGMAS, timeout=10)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StoreError(f"cannot create directory {file.parent} for {url}: {reason}") from None
    return pw.SqliteDatabase(str(file), pragmas=SQLITE_PRAGMAS, timeout=10)


def _build_postgres(url: str) -> pw.PostgresqlDatabase:
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StoreError(f"database URL {mask_url(url)} names no database (.../DBNAME)")
    try:
        port = parts.port
    except ValueError:
        raise StoreError(f"database URL {mask_url(url)} has a bad port") from None
    params: dict[str, Any] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT, **POSTGRES_LINK_PARAMS}
    params.update(parse_qsl(parts.query))  # e.g. ?sslmode=require
    for key, value in (
        ("user", parts.username),
        ("password", parts.password),
        ("host", parts.hostname),
    ):
        if value:
            params[key] = unquote(value)
    if port is not None:
        params["port"] = port
    return _PostgresDatabase(dbname, **params)


class _PostgresDatabase(pw.PostgresqlDatabase):
    """PostgreSQL, each new connection told :data:`IDLE_IN_TRANSACTION_TIMEOUT` (a
    ``SET``, not a startup ``options``: PgBouncer refuses unknown startup parameters)."""

    def _initialize_connection(self, conn: Any) -> None:
        with conn.cursor() as cursor:
            cursor.execute(
                "SET idle_in_transaction_session_timeout = %s", (IDLE_IN_TRANSACTION_TIMEOUT,)
            )


def _reason(exc: BaseException, url: str) -> str:
    """The first meaningful line of a driver error, without any password in it."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = re.sub(r'^connection to server (?:at|on) "[^"]*"[^:]*? failed: ', "", text)
    text = re.sub(r"^(?:FATAL|ERROR):\s+", "", text)
    password = urlsplit(url).password if "://" in url else None
    if password:
        text = text.replace(unquote(password), "***").replace(password, "***")
    return text[:1].lower() + text[1:]


def _is_memory(db: pw.Database) -> bool:
    return isinstance(db, pw.SqliteDatabase) and db.database == ":memory:"


def _unwrap(db: pw.Database | pw.DatabaseProxy | None) -> pw.Database | None:
    target = database if db is None else db
    if isinstance(target, pw.DatabaseProxy):
        inner: pw.Database | None = target.obj
        return inner
    return target


def _replace_proxied(db: pw.Database) -> None:
    """Point the proxy at ``db``, closing this thread's connection to the previous one."""
    previous = database.obj
    if (
        previous is not None
        and previous is not db
        and not previous.is_closed()
        and not previous.in_transaction()
    ):
        previous.close()
    database.initialize(db)
