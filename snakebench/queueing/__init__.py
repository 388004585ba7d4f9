"""The one package that knows RQ: Redis connections, queues and how games are enqueued.

Only this package and :mod:`jobs` (the functions workers run) import ``rq``; an
import-linter contract in pyproject.toml keeps it so (rq-dashboard, which the web
mounts, imports it for itself). The layers above ask this one to enqueue, stop and
count jobs (:mod:`snakebench.queueing.recovery`, :mod:`snakebench.queueing.status`);
they use Redis itself, through redis-py, only as a plain store (live boards, the
spending counters) and to see that it answers.

Contracts (the README's "Batches on RQ"): the database is the source of truth and Redis only
transport; a job's payload is the game id and nothing else; the job id *is* the game
id, so a game can never be queued as two different jobs.

The wire is RQ's default serializer (pickle) carrying primitives only: the function's
dotted name, the game id, plain dicts, lists, strings and numbers. A literal
``rq worker games``, ``rq info`` and rq-dashboard read our jobs with their defaults.
Primitives pickle without a single ``GLOBAL`` opcode, so :class:`RestrictedPickle`, a
reader that refuses every pickled global, reads the very same jobs: a hardened worker
(:data:`WORKER_COMMAND`: ``-S snakebench.queueing.RestrictedPickle -j
snakebench.queueing.GameJob``) can serve a queue beside plain ones and neither
unpickles a planted object nor runs a function outside :data:`ALLOWED_FUNCTIONS`.
"""

from __future__ import annotations

import io
import os
import pickle
import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import redis
import redis.utils
from redis.backoff import ExponentialBackoff
from redis.retry import Retry as RedisRetry
from redis.sentinel import SentinelConnectionPool
from rq import Callback, Queue, Retry, Worker
from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE
from rq.job import Job, JobStatus
from rq.utils import utcformat

from snakebench.config import ConfigError, Settings, get_settings
from snakebench.queueing.connection import failover_retry, redis_client, where, why
from snakebench.queueing.quiet_worker import known_horse

Priority = Literal["high", "normal", "low"]
QUEUE_NAMES: dict[str, str] = {"high": "games-high", "normal": "games", "low": "games-low"}
# The order a worker listens in: high first, low only when the others are empty.
WORKER_QUEUES: tuple[str, ...] = ("games-high", "games", "games-low")
# The plain worker: stock RQ, no flags; it reads REDIS_URL from the environment itself.
PLAIN_WORKER_COMMAND = "rq worker games-high games games-low --with-scheduler"
# The recommended one adds what makes it safer and faster, never what it needs to work:
# -S: the restricted reader (no pickled global is ever loaded); -j: only SnakeBench's
# functions and callbacks run (GameJob); -c jobs.run_game: the game code and the
# provider SDKs (~3 s of imports) are loaded once, before the worker forks a work horse
# per game, instead of in every horse; -w: RQ's Worker without its redundant heartbeats
# (snakebench.queueing.quiet_worker: 11 fewer Redis commands a job); --connection-class:
# a reset connection is retried rather than ending the worker (WorkerRedis).
WORKER_COMMAND = (
    "rq worker -w snakebench.queueing.quiet_worker.QuietWorker "
    "-S snakebench.queueing.RestrictedPickle -j snakebench.queueing.GameJob "
    "-c jobs.run_game --connection-class snakebench.queueing.WorkerRedis "
    "games-high games games-low --with-scheduler"
)
# A command cut off by a reset is tried again this many times, 0.1 s, 0.2 s... apart.
WORKER_REDIS_RETRIES = 6


class WorkerRedis(redis.Redis):
    """The workers' Redis client: a command whose connection breaks (reset, closed) is
    sent again on a new connection, a few times, backing off up to 2 s.

    ``rq worker`` builds its client with ``from_url``, which gives redis-py's
    connections no retry at all, and RQ catches a ConnectionError only in its dequeue
    loop: one reset during a heartbeat, its maintenance or a job's bookkeeping ended
    the worker (and its work horse with it; the slow-link drill, docs/RELIABILITY.md).
    The commands RQ sends there are idempotent writes (status fields, registry scores,
    expiries), so sending one twice does no harm; a pop whose reply was lost is
    recovered by ``reconcile`` (:func:`snakebench.queueing.recovery.live_games`).
    Timeouts are not retried: a blocking pop's is RQ's to handle."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Any:
        backoff = ExponentialBackoff(cap=2.0, base=0.1)
        errors = (redis.ConnectionError,)
        kwargs.setdefault("retry", RedisRetry(backoff, WORKER_REDIS_RETRIES, errors))
        return super().from_url(url, **kwargs)


# redis-py 8 looks its own version up in the package metadata (importlib.metadata: a
# directory scan and a header parse, ~1 ms) for every connection it opens, to send
# CLIENT SETINFO. A work horse forked per game opens its connections afresh, so that
# lookup was part of every game's queue overhead (docs/PERFORMANCE.md, part 1). The
# version cannot change within a process: remember it, here, where every worker,
# command and web process that talks to Redis passes, and before any horse is forked.
# (Any: redis-py before 8.2 leaves the function untyped, 8.2 wraps it in lru_cache.)
_redis_utils: Any = redis.utils
_REDIS_PY_VERSION: str = _redis_utils.get_lib_version()


def _redis_py_version() -> str:
    return _REDIS_PY_VERSION


_redis_utils.get_lib_version = _redis_py_version

# Referenced by name, so that enqueueing never imports the workers' code.
RUN_GAME = "jobs.run_game.run_game"
HEALTH_CHECK = "jobs.run_game.health_check"
# What an evaluation game's end calls (jobs/evaluate.py): the ladder's next step.
EVALUATION_ON_SUCCESS = "jobs.evaluate.on_game_success"
EVALUATION_ON_FAILURE = "jobs.evaluate.on_game_failure"
# The housekeeping `rq cron jobs.cron` enqueues (jobs/maintenance.py).
RECONCILE = "jobs.maintenance.reconcile_games"
PLACE_NEW_MODELS = "jobs.maintenance.place_new_models"
FAIL_STALE_GAMES = "jobs.maintenance.fail_stale_games"
# Everything a worker started with WORKER_COMMAND will import and call by name.
ALLOWED_FUNCTIONS = frozenset({RUN_GAME, HEALTH_CHECK, RECONCILE})
ALLOWED_FUNCTIONS |= {PLACE_NEW_MODELS, FAIL_STALE_GAMES}
# Alerts (jobs/webhooks.py): one webhook event's POST.
DELIVER_WEBHOOK = "jobs.webhooks.deliver"
ALLOWED_FUNCTIONS |= {DELIVER_WEBHOOK}
# A completed game's MP4 (jobs/video.py), when SNAKEBENCH_VIDEOS=1: job id video-<game id>.
RENDER_VIDEO = "jobs.video.render_game_video"
ALLOWED_FUNCTIONS |= {RENDER_VIDEO}
ALLOWED_CALLBACKS = frozenset({EVALUATION_ON_SUCCESS, EVALUATION_ON_FAILURE})

RESULT_TTL = 24 * 3600  # a finished job's result stays a day for monitors to read
FAILURE_TTL = 7 * 24 * 3600  # a failed job stays a week for someone to look at
ENQUEUE_CHUNK = 1000  # jobs per Redis pipeline when enqueueing in bulk
# A ladder callback may wait for the batch's enqueue lock (60 s) and a database write
# lock: RQ's default 60 s callback limit would fail the game's job for nothing.
CALLBACK_TIMEOUT = 120
# Job statuses meaning "RQ still has this game in hand".
LIVE_STATUSES = frozenset(
    {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
)


# Exactly these types, not subclasses: an IntEnum or a str subclass pickles as a global.
_SCALARS: frozenset[type] = frozenset({type(None), bool, int, float, str, bytes})


class WireError(TypeError):
    """A value that is not made of primitives was about to be put on the wire."""


def check_primitives(value: Any, where: str = "value") -> None:
    """Refuse anything but None, bools, numbers, strings, bytes and lists, tuples and
    dicts of them: exactly what every RQ reader, the restricted one included, reads."""
    kind = type(value)
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            check_primitives(item, f"{where}[{index}]")
    elif kind is dict:
        for key, item in value.items():
            check_primitives(key, f"a key of {where}")
            check_primitives(item, f"{where}[{key!r}]")
    elif kind not in _SCALARS:
        raise WireError(
            f"{where} is a {kind.__module__}.{kind.__qualname__}: "
            "SnakeBench puts only primitives on the queue"
        )


class _PrimitivesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(
            f"refusing pickled global {module}.{name}: SnakeBench jobs carry primitives only"
        )


class RestrictedPickle:
    """RQ's default wire format, pickle (protocol 5), read by an unpickler that refuses
    every global (``-S snakebench.queueing.RestrictedPickle``).

    Unpickling is where pickle runs code: a ``GLOBAL`` opcode names any importable
    object (``os.system``) and ``REDUCE`` calls it, before RQ has even looked at the
    job's function. Primitives never need a global, so this reader loads every job,
    meta and result SnakeBench writes (the bytes are what RQ's ``DefaultSerializer``
    writes, byte for byte), and fails with ``UnpicklingError`` (RQ: a
    ``DeserializationError``, the job failed unrun) on anything else. Writing checks
    the same rule, so a value a stock reader could take but this one could not never
    leaves a SnakeBench process."""

    @staticmethod
    def dumps(value: Any) -> bytes:
        check_primitives(value)
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> Any:
        return _PrimitivesUnpickler(io.BytesIO(data)).load()


# What SnakeBench's own processes write and read jobs with (dispatch, web, workers).
SERIALIZER = RestrictedPickle


class QueueError(RuntimeError):
    """Redis cannot be used as configured; the message is one line, password masked."""


class ForeignJobError(RuntimeError):
    """A job names a function or callback that is not one of SnakeBench's."""


class GameJob(Job):
    """The job class hardened workers run (``-j snakebench.queueing.GameJob``): RQ imports
    and calls whatever dotted path a job names, so anyone able to write to Redis could
    make a plain worker run ``os.system`` with primitive arguments. The restricted reader
    only stops code run while unpickling; this stops the rest: a job naming anything but
    :data:`ALLOWED_FUNCTIONS` (or a callback outside :data:`ALLOWED_CALLBACKS`), or bound
    to an instance, fails unrun."""

    @property
    def func(self) -> Any:
        if self.instance is not None or self.func_name not in ALLOWED_FUNCTIONS:
            raise ForeignJobError(f"refusing to run {self.func_name!r}: not a SnakeBench job")
        return super().func

    @property
    def success_callback(self) -> Any:
        _check_callback(self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self) -> Any:
        _check_callback(self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self) -> Any:
        _check_callback(self._stopped_callback_name)
        return super().stopped_callback


def _check_callback(name: str | None) -> None:
    if name and name not in ALLOWED_CALLBACKS:
        raise ForeignJobError(f"refusing to call {name!r}: not a SnakeBench callback")


# A job's meta key where run_game notes which attempt reached SnakeBench's code.
RUN_MARK = "snakebench_run"


def mark_run_started(job: Job) -> None:
    """Note in the job's meta that this attempt (RQ's ``started_at``) reached SnakeBench's
    code. An attempt RQ started without the mark never got that far: the worker could
    not read the job (e.g. ``-S json``) or import ``jobs.run_game``. RQ leaves no other
    trace of such a failure while retries are left (:func:`attempt_never_ran`)."""
    job.meta[RUN_MARK] = _attempt_of(job)
    job.save_meta()  # type: ignore[no-untyped-call]


def attempt_never_ran(job: Job) -> bool:
    """Whether RQ started the job's latest attempt but SnakeBench's code never ran it."""
    return job.started_at is not None and job.meta.get(RUN_MARK) != _attempt_of(job)


def job_taken_over(job: Job) -> bool:
    """Whether the job Redis holds under ``job``'s id is no longer this attempt's: its
    mark (:func:`mark_run_started`) is gone or another attempt's. So it is when this
    attempt's worker was cut off past its heartbeat and ``reconcile`` deleted the job
    and enqueued the game again: the job under that id now belongs to the game's new
    run, and whatever this attempt told RQ (finished, failed) would overwrite that job's
    state (``rq info``, the dashboard, and reconcile, which would take the new run for
    dead and hand the game to a third)."""
    raw = job.connection.hget(job.key, "meta")
    try:
        meta = job.serializer.loads(raw) if isinstance(raw, bytes) else None
    except Exception:  # unreadable: not the meta this attempt wrote
        return True
    return not isinstance(meta, dict) or meta.get(RUN_MARK) != _attempt_of(job)


def forget_execution(job: Job) -> None:
    """Take this attempt's entry out of the job's started registry, as RQ does when a
    job ends, without writing the job: for an attempt leaving a job taken over
    (:func:`job_taken_over`). Reconcile may have left that entry behind (it deletes the
    executions RQ still lists, and a lapsed one no longer is), and the worker's
    heartbeat would keep it alive for a minute more: ``rq info`` counting a job started
    twice, reconcile taking the game for one with a live run. The entries are found
    through the worker's own list of its executions."""
    listed = WORKER_EXECUTIONS_KEY_TEMPLATE.format(job.worker_name)
    members: set[bytes] = job.connection.smembers(listed)  # type: ignore[assignment]
    mine = [m for m in members if m.decode().startswith(f"{job.id}:")]
    if mine:
        job.connection.zrem(job.started_job_registry.key, *mine)


def _attempt_of(job: Job) -> str | None:
    return utcformat(job.started_at) if job.started_at is not None else None


def is_work_horse(job: Job) -> bool:
    """Whether this process is a work horse that ``job``'s worker forked for it (a
    fork-per-job ``rq worker``), not the worker itself (SimpleWorker, ThreadWorker).
    SnakeBench's own worker classes know without a Redis command
    (:func:`snakebench.queueing.quiet_worker.known_horse`); others' are asked."""
    known = known_horse()
    if known is not None:
        return known
    key = f"{Worker.redis_worker_namespace_prefix}{job.worker_name}"
    pid = job.connection.hget(key, "pid")
    return pid is not None and int(pid) == os.getppid()


def fail_for_good(job: Job | None) -> None:
    """Make the exception about to leave the job fail it without a retry: the game has
    ended ``failed`` in the database, so running the job again would change nothing.
    (RQ's ``Retry`` has no per-exception rule; the worker asks ``retries_left``.)"""
    if job is not None:
        job.retries_left = 0


def connect_redis(
    url: str | None = None, *, timeout: float = 5.0, settings: Settings | None = None
) -> redis.Redis:
    """A client for ``url``, or else for the Redis of ``settings`` (default: this
    process's: ``REDIS_URL``, or the primary Sentinel names, docs/HA.md), checked with a
    PING.

    ``redis://``, ``rediss://`` (TLS; ``?ssl_cert_reqs=none`` for a self-signed
    certificate), passwords in the URL and ``unix://`` sockets all work. Timeouts
    are short so an unreachable host fails in seconds instead of hanging.
    """
    if url is not None:
        settings = replace(settings or Settings(), redis_url=url, redis_sentinel=None)
    settings = settings or get_settings()
    try:
        client = redis_client(
            settings,
            connect_timeout=timeout,
            socket_timeout=max(timeout, 30.0),  # blocking pops wait longer than this
            failover_wait=timeout,  # a wrong REDIS_SENTINELS fails as fast as a bad URL
        )
        client.ping()
        if settings.redis_sentinel is not None:
            client.set_retry(failover_retry())  # from now on, ride a failover out
    except (ValueError, TypeError) as exc:  # TypeError: a query option redis-py lacks
        raise ConfigError(f"REDIS_URL={where(settings)!r} is not a Redis URL: {exc}") from None
    except redis.RedisError as exc:
        raise QueueError(f"cannot reach Redis at {where(settings)}: {why(exc)}") from None
    return client


def ping(connection: redis.Redis) -> None:
    """Check that Redis answers; :class:`QueueError` naming it if not, as
    :func:`connect_redis` does (the CLI reports it in one line, the API as a 503)."""
    try:
        connection.ping()
    except redis.RedisError as exc:
        raise QueueError(f"cannot reach Redis at {_where(connection)}: {why(exc)}") from None


def _where(connection: redis.Redis) -> str:
    pool = connection.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        return f"the primary Sentinel names {pool.service_name!r}"
    found = pool.connection_kwargs
    if "path" in found:
        return f"unix://{found['path']}"
    return f"{found.get('host', 'localhost')}:{found.get('port', 6379)}/{found.get('db', 0)}"


def game_queue(priority: str, connection: redis.Redis) -> Queue:
    try:
        name = QUEUE_NAMES[priority]
    except KeyError:
        raise ValueError(f"priority must be high, normal or low, not {priority!r}") from None
    return Queue(name, connection=connection, serializer=SERIALIZER)


def job_timeout(max_rounds: int, settings: Settings | None = None, *, limited: bool = False) -> int:
    """Seconds a game job may run before RQ kills it, sized to the game.

    Every provider call is already bounded by the move timeout, so this only
    catches a job that hangs for other reasons; it must never cut a slow but
    healthy game, hence twice the longest plausible game plus ten minutes
    (RQ's default, 180 s, would kill most real LLM games). Where request limits are
    set (``limited``) a round may also wait up to ``SNAKEBENCH_LIMIT_WAIT`` for provider
    slots (a longer wait voids the game), and gets that time too.
    """
    settings = settings or get_settings()
    per_round = settings.move_timeout * 2 + (settings.limit_wait if limited else 0.0)
    return int(max_rounds * per_round + 600)


def retry_policy(rng: random.Random | None = None) -> Retry:
    """Re-runs for a job that raised (database or Redis down; the game itself turns
    provider trouble into ``void``): three more tries, backing off exponentially
    with jitter so that a batch hit by one outage does not come back all at once."""
    rng = rng or random.Random()
    return Retry(max=3, interval=[int(base * rng.uniform(0.5, 1.5)) for base in (15, 60, 240)])


def enqueue_games(
    game_ids: Sequence[str],
    *,
    max_rounds: int,
    priority: str = "normal",
    connection: redis.Redis,
    at: datetime | None = None,
    settings: Settings | None = None,
    limited: bool = False,
    fence: tuple[str, str] | None = None,
) -> int:
    """Enqueue one ``run_game`` job per game id, pipelined in chunks; returns the count.

    ``at`` schedules them instead (workers need ``--with-scheduler``); ``limited``: the
    games may wait for provider slots (:func:`job_timeout`); ``fence``: the (key, token)
    of a lock each chunk is enqueued under (:func:`_hold`).
    """
    queue = game_queue(priority, connection)
    timeout = job_timeout(max_rounds, settings, limited=limited)
    for start in range(0, len(game_ids), ENQUEUE_CHUNK):
        chunk = list(game_ids[start : start + ENQUEUE_CHUNK])
        while chunk:
            try:
                _enqueue_chunk(queue, chunk, timeout, at, fence)
                break
            except redis.WatchError:
                # The lock was renewed meanwhile (its EXPIRE aborts the EXEC), or lost
                # (_hold raises on the next turn), or the connection broke during EXEC,
                # which may have run: again with the jobs not there yet.
                statuses = job_statuses(chunk, connection)
                chunk = [gid for gid in chunk if statuses[gid] is None]
    return len(game_ids)


def _enqueue_chunk(
    queue: Queue, chunk: list[str], timeout: int, at: datetime | None, fence: tuple[str, str] | None
) -> None:
    with queue.connection.pipeline() as pipe:
        if fence is not None:
            _hold(pipe, fence)
        if at is None:
            queue.enqueue_many([_job_data(gid, timeout) for gid in chunk], pipeline=pipe)
        else:
            for gid in chunk:
                job = queue.create_job(RUN_GAME, args=(gid,), job_id=gid, **_job_options(timeout))
                queue.schedule_job(job, at, pipeline=pipe)
        pipe.execute()


def _hold(pipe: Any, fence: tuple[str, str]) -> None:
    """Make the pipeline's transaction run only while the lock ``fence`` (key, token)
    is still held unchanged: WATCH it, check the token, then MULTI.

    A dispatcher cut off mid-chunk leaves that chunk's bytes in its kernel, which sends
    them when the link comes back, even after the process was killed: without the
    fence its EXEC would enqueue, minutes late, games that ``reconcile`` has enqueued
    since (each then played twice). By then the lock has expired or been taken by
    reconcile, and either change aborts the EXEC."""
    key, token = fence
    pipe.watch(key)
    if pipe.get(key) != token.encode():
        pipe.reset()
        raise QueueError(f"lost the enqueue lock {key} (it expired or was taken) mid-enqueue")
    pipe.multi()


def enqueue_game_with_callbacks(
    game_id: str,
    *,
    max_rounds: int,
    priority: str = "normal",
    connection: redis.Redis,
    on_success: str,
    on_failure: str,
    settings: Settings | None = None,
    limited: bool = False,
) -> Job:
    """Enqueue one ``run_game`` job whose end calls ``on_success`` / ``on_failure``
    (dotted paths, stored by name in the job hash whatever the serializer), e.g. the
    placement ladder choosing its next game. The caller makes sure no job is left
    under the same id: :func:`snakebench.queueing.recovery.enqueue_missing` deletes a dead
    one first, a dead worker's included (``Job.delete`` cannot)."""
    queue = game_queue(priority, connection)
    job = queue.create_job(
        RUN_GAME,
        args=(game_id,),
        job_id=game_id,
        on_success=Callback(on_success, timeout=CALLBACK_TIMEOUT),
        on_failure=Callback(on_failure, timeout=CALLBACK_TIMEOUT),
        **_job_options(job_timeout(max_rounds, settings, limited=limited)),
    )
    return queue.enqueue_job(job)


def _job_options(timeout: int) -> dict[str, Any]:
    return {
        "timeout": timeout,
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
        "retry": retry_policy(),
    }


def _job_data(game_id: str, timeout: int) -> Any:
    return Queue.prepare_data(RUN_GAME, args=(game_id,), job_id=game_id, **_job_options(timeout))


VIDEO_TIMEOUT = 900  # seconds: a 10,000-round game's MP4 takes a few minutes


def video_job_id(game_id: str) -> str:
    return f"video-{game_id}"


def enqueue_video(game_id: str, connection: redis.Redis) -> bool:
    """Enqueue ``render_game_video(game_id)`` on games-low under the job id
    ``video-<game id>``, unless that job is already waiting or running. Returns whether
    it was enqueued. (The job itself is idempotent too: a video on disk is kept.)"""
    job_id = video_job_id(game_id)
    if live_job_ids([job_id], connection):
        return False
    game_queue("low", connection).enqueue(
        RENDER_VIDEO,
        game_id,
        job_id=job_id,
        job_timeout=VIDEO_TIMEOUT,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
    )
    return True


def job_statuses(game_ids: Iterable[str], connection: redis.Redis) -> dict[str, str | None]:
    """Each game's job status as RQ holds it (None: no job), pipelined: one round
    trip per chunk of ids, whatever the batch size."""
    found: dict[str, str | None] = {}
    ids = list(game_ids)
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        chunk = ids[start : start + ENQUEUE_CHUNK]
        with connection.pipeline() as pipe:
            for gid in chunk:
                pipe.hget(Job.key_for(gid), "status")
            statuses = pipe.execute()
        found.update(
            (gid, None if s is None else s.decode()) for gid, s in zip(chunk, statuses, strict=True)
        )
    return found


def live_job_ids(game_ids: Iterable[str], connection: redis.Redis) -> set[str]:
    """The games among ``game_ids`` that RQ still holds as queued, started,
    scheduled or deferred jobs."""
    return live_of(job_statuses(game_ids, connection))


def live_of(statuses: dict[str, str | None]) -> set[str]:
    return {gid for gid, status in statuses.items() if _is_live(status)}


def _is_live(status: str | None) -> bool:
    return status is not None and status in {s.value for s in LIVE_STATUSES}
