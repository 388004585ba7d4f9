"""The one place a :class:`Settings` becomes a Redis client: ``REDIS_URL``, or the
primary that Sentinel names (``REDIS_SENTINELS``, docs/HA.md).

Every SnakeBench process connects through :func:`redis_client`: the dispatcher and the
other commands (:func:`snakebench.queueing.connect_redis`), the web app and its
rq-dashboard (:func:`dashboard_url`), the scheduled jobs, and the workers, which RQ
connects itself from the settings module it is given with ``-c``
(:func:`rq_connection_settings`: RQ's own ``REDIS_URL`` or ``SENTINEL`` dict, built from the same
settings, so that a worker and the dispatcher never disagree about where Redis is).

Behind Sentinel a client holds no fixed address: each new connection asks a Sentinel
for the current primary. When the primary dies, commands fail with a connection error
until the Sentinels have promoted a replica (``down-after-milliseconds`` plus an
election, a few seconds); redis-py retries each command with backoff meanwhile, and a
connection opened after the promotion reaches the new primary. Every connection to the
primary is a :class:`PrimaryConnection`, which asks the Sentinels again on each reconnect
(redis-py's own reconnects the old address: see the class).
"""

from __future__ import annotations

import socket
from typing import Any

import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelManagedConnection

from snakebench.config import SentinelSettings, Settings, mask_url

# Seconds a Sentinel may take to answer "who is the primary?": Sentinels are asked one
# after another, so one that is cut off must not hold a client up for long.
SENTINEL_TIMEOUT = 2.0
# TCP keepalive and a user timeout on every connection to a Sentinel-managed primary: a
# primary that is cut off (not killed: nothing resets the connection) is noticed in about
# 5 + 3 * 2 = 11 s when the connection is idle (a worker blocked in a dequeue), and 11 s
# after a request went unanswered otherwise (TCP_USER_TIMEOUT), where a worker would
# wait out RQ's socket timeout (over 400 s) on a primary that no longer is one.
KEEPALIVE_OPTIONS: dict[int, int] = {
    socket.TCP_KEEPIDLE: 5,
    socket.TCP_KEEPINTVL: 2,
    socket.TCP_KEEPCNT: 3,
    socket.TCP_USER_TIMEOUT: 11_000,  # milliseconds
}
HEALTH_CHECK_INTERVAL = 30  # seconds idle before a pooled connection is PINGed on reuse
# How long a command behind Sentinel keeps retrying a lost primary: the Sentinels'
# down-after-milliseconds plus an election. redis-py's own default gives up within a
# second on a refused connection, and an `rq worker` that sees a connection error
# anywhere but in its dequeue quits (the sentinel-failover drill: every worker did);
# with this it rides the failover out. 30 s covers down-after-milliseconds up to about
# 25 s; the web app waits less (a health probe must answer).
FAILOVER_RETRY_SECONDS = 30.0
RETRY_INTERVAL = 0.5


class PrimaryConnection(SentinelManagedConnection):
    """A connection to the primary that asks the Sentinels where it is on every reconnect.

    redis-py's :class:`SentinelManagedConnection` asks them only in ``connect()``. A
    command whose connection broke reconnects through ``send_packed_command``, which calls
    ``connect_check_health`` and retries the socket connect, with the connection's retry
    policy, to the address it had (redis-py issue 3874, open). After a failover that is
    the old primary: killed, each try is refused at once; cut off, each SYN waits out
    the connect timeout, so a worker spent minutes on it (the sentinel-failover drill's
    ``--cut``: no game finished in the minute after the promotion). Here that path goes
    through ``connect()``, whose every try asks the Sentinels.
    """

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self._sock:
            return
        if retry_socket_connect:  # a reconnect: each try must ask the Sentinels again
            # connect() retries _connect_retry -> connect_to -> the branch below
            self.connect()  # type: ignore[no-untyped-call]
            return
        super().connect_check_health(check_health, retry_socket_connect=False)


def redis_client(
    settings: Settings,
    *,
    connect_timeout: float,
    socket_timeout: float | None,
    failover_wait: float = FAILOVER_RETRY_SECONDS,
) -> redis.Redis:
    """A client for the Redis of ``settings``; nothing is sent until it is used.

    ``connect_timeout`` bounds opening a connection, ``socket_timeout`` every reply (None:
    none, for blocking pops); behind Sentinel, a command retries a lost primary for
    ``failover_wait`` seconds. Raises ``ValueError`` or ``TypeError`` for a
    ``REDIS_URL`` redis-py cannot read (the caller names the setting)."""
    found = settings.redis_sentinel
    if found is not None:
        # Through Any: redis-py before 8.2 leaves Sentinel untyped, 8.2 types it.
        sentinel_class: Any = Sentinel
        sentinel = sentinel_class(
            list(found.sentinels), sentinel_kwargs=_sentinel_kwargs(SENTINEL_TIMEOUT)
        )
        client: redis.Redis = sentinel.master_for(
            found.master, **_primary_kwargs(found, connect_timeout, socket_timeout, failover_wait)
        )
        return client
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL,
    )


def failover_retry(seconds: float = FAILOVER_RETRY_SECONDS) -> Retry:
    """A connection's retry policy behind Sentinel: every :data:`RETRY_INTERVAL` for
    ``seconds`` (``Redis.set_retry`` gives a client another)."""
    return Retry(ConstantBackoff(RETRY_INTERVAL), max(1, int(seconds / RETRY_INTERVAL)))


def where(settings: Settings) -> str:
    """Where ``settings`` put Redis, password masked: for errors and logs."""
    if settings.redis_sentinel is not None:
        return settings.redis_sentinel.describe()
    return mask_url(settings.redis_url)


def why(exc: redis.RedisError) -> str:
    """``exc`` in one line: redis-py's "no master found" quotes every Sentinel client's
    repr (a screenful); the rest are short already."""
    if isinstance(exc, MasterNotFoundError):
        return "no Sentinel named a primary (down, still electing one, or a wrong name)"
    return " ".join(str(exc).split()) or type(exc).__name__


def rq_connection_settings(settings: Settings) -> dict[str, Any]:
    """What an RQ settings module (``rq worker -c MODULE``, ``rq info -c MODULE``) must
    define to reach the Redis of ``settings``: RQ reads ``REDIS_URL`` first and, when
    it is None, the ``SENTINEL`` dict (``rq.cli.helpers.get_redis_from_config``)."""
    found = settings.redis_sentinel
    if found is None:
        return {"REDIS_URL": settings.redis_url, "SENTINEL": None}
    kwargs = _primary_kwargs(found, 5.0, None, FAILOVER_RETRY_SECONDS)
    return {
        "REDIS_URL": None,
        "SENTINEL": {
            "INSTANCES": [list(address) for address in found.sentinels],
            "MASTER_NAME": found.master,
            "DB": kwargs.pop("db"),
            "PASSWORD": kwargs.pop("password"),
            # None: the worker sets its own, longer than its blocking dequeue.
            "SOCKET_TIMEOUT": kwargs.pop("socket_timeout"),
            "CONNECTION_KWARGS": kwargs,
            "SENTINEL_KWARGS": _sentinel_kwargs(SENTINEL_TIMEOUT),
        },
    }


def dashboard_url(settings: Settings) -> str:
    """``RQ_DASHBOARD_REDIS_URL`` for the Redis of ``settings``: the URL itself, or the
    ``redis+sentinel://`` form rq-dashboard reads (its password goes separately, as
    ``RQ_DASHBOARD_REDIS_PASSWORD``)."""
    found = settings.redis_sentinel
    if found is None:
        return settings.redis_url
    hosts = ",".join(f"{host}:{port}" for host, port in found.sentinels)
    wait = f"sentinel_socket_timeout={SENTINEL_TIMEOUT}"
    return f"redis+sentinel://{hosts}/{found.master}/{found.db}?{wait}"


def _sentinel_kwargs(timeout: float) -> dict[str, Any]:
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


def _primary_kwargs(
    found: SentinelSettings,
    connect_timeout: float,
    socket_timeout: float | None,
    failover_wait: float,
) -> dict[str, Any]:
    return {
        "retry": failover_retry(failover_wait),
        "db": found.db,
        "password": found.password,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "socket_keepalive": True,
        "socket_keepalive_options": dict(KEEPALIVE_OPTIONS),
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "connection_class": PrimaryConnection,
    }
