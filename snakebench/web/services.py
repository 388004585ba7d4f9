"""The web app's connections to Redis and the database, opened on first use.

Opening them lazily lets the app start (and ``/healthz`` answer 503) while Redis or
the database is down, instead of crashing at boot and being restarted in a loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from flask import Flask, current_app

from snakebench.queueing.connection import redis_client
from snakebench.store import Database, connect, pending_versions, ping, upgrade
from snakebench.web.config import WebConfig

EXTENSION = "snakebench"
REDIS_TIMEOUT = 2.0  # seconds: a health probe must answer before the platform gives up
FAILOVER_WAIT = 5.0  # seconds a request retries a lost primary behind Sentinel, no more

log = logging.getLogger("snakebench.web")


class Services:
    """One per app: a Redis client and the peewee database, made when first asked for."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self._redis: redis.Redis | None = None
        self._database: Database | None = None
        self._lock = threading.Lock()

    def redis(self) -> redis.Redis:
        """A client with short timeouts (it reconnects by itself after an outage)."""
        with self._lock:
            if self._redis is None:
                self._redis = redis_client(
                    self.config.redis_settings,
                    connect_timeout=REDIS_TIMEOUT,
                    socket_timeout=REDIS_TIMEOUT,
                    failover_wait=FAILOVER_WAIT,
                )
            return self._redis

    def database(self) -> Database:
        """The database (``snakebench.store.connect`` binds the models to it), its schema
        brought up to date on first use as every other entry point does: ``snakebench
        web`` on a fresh directory shows an empty leaderboard, not a missing table."""
        with self._lock:
            if self._database is None:
                database = connect(self.config.database_url)
                if pending_versions(database):
                    upgrade(database)
                self._database = database
            return self._database

    def ping_database(self) -> None:
        """Raise unless the database answers a trivial query."""
        ping(self.database())

    def close_database(self, exc: BaseException | None = None) -> None:
        """Give back this thread's connection at the end of a request."""
        if self._database is not None and not self._database.is_closed():
            self._database.close()


def install_services(app: Flask, config: WebConfig) -> Services:
    services = Services(config)
    app.extensions[EXTENSION] = services
    app.teardown_appcontext(services.close_database)
    return services


def services() -> Services:
    found: Any = current_app.extensions[EXTENSION]
    return found  # type: ignore[no-any-return]
