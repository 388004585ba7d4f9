"""Opening the store the way every command and worker wants it: connected, at the
latest schema, with the built-in bot models present."""

from __future__ import annotations

import threading

import peewee as pw

from snakebench.config import Settings, get_settings
from snakebench.store.db import connect, database, sqlite_file
from snakebench.store.migrations import pending_versions, upgrade
from snakebench.store.queries import ensure_bot_models


def store_exists(settings: Settings | None = None) -> bool:
    """Whether the database is there already: False for a SQLite file not created yet
    (a PostgreSQL database is made by its operator, so it always counts as there)."""
    url = (settings or get_settings()).database_url
    if not url.startswith("sqlite:"):
        return True
    file = sqlite_file(url)
    return file is None or file.exists()


def open_store(settings: Settings | None = None) -> pw.Database:
    """Connect to ``DATABASE_URL`` and bring the schema up to date.

    Upgrading here rather than only in ``snakebench db upgrade`` is what lets a new
    user's first ``snakebench play`` work on an empty directory; it is cheap when the
    schema is current (one version read) and safe under concurrency (migrations lock).
    """
    return upgrade_store(settings)[0]


def upgrade_store(settings: Settings | None = None) -> tuple[pw.Database, list[int]]:
    """:func:`open_store`, also telling which migrations it applied."""
    db = connect((settings or get_settings()).database_url)
    applied = _upgrade_if_behind(db)
    ensure_bot_models()
    return db, applied


def _upgrade_if_behind(db: pw.Database) -> list[int]:
    """The migrations applied to bring ``db`` to the latest schema (one read when current)."""
    return upgrade(db) if pending_versions(db) else []


_OPENED: dict[str, pw.Database] = {}  # database URL -> the store this process opened
_OPENED_LOCK = threading.Lock()


def open_store_once(settings: Settings | None = None) -> pw.Database:
    """The store as a job needs it, opened once per process and database: what jobs call.

    A forked work horse opens the store once anyway (its parent never does), but a
    :class:`~snakebench.queueing.thread_worker.ThreadWorker` runs many games in one process:
    re-pointing the shared :data:`database` proxy under a game in another thread
    would move that game's queries, mid-transaction, to a different connection.
    Opening once also spares every job the connect test and the schema read.

    Lighter than :func:`open_store`, since a work horse pays it for every game: the
    tested connection stays open for the job (the job closes it when it ends), and
    the built-in bots are not looked up (a job plays games whose players exist).
    """
    url = (settings or get_settings()).database_url
    with _OPENED_LOCK:
        db = _OPENED.get(url)
        if db is None or database.obj is not db:  # first use, or pointed elsewhere since
            db = _OPENED[url] = connect(url, keep_open=True)
            _upgrade_if_behind(db)
        return db
