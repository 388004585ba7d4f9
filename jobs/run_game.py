"""The functions RQ workers run. Payloads are ids, never configs or secrets.

A worker imports this module by the job's function name (``jobs.run_game.run_game``)
and calls it with the game id; everything else, the line-up, the rules, the seed,
comes from the database, which is the source of truth.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
from importlib.metadata import version
from typing import Any

import redis
from rq import get_current_job

import jobs.evaluate  # noqa: F401  (the evaluation games' callbacks, loaded with the jobs)
from jobs.video import video_after_game
from jobs.webhooks import after_game
from snakebench.config import Settings, get_settings
from snakebench.games.simulation import run_stored_game, stored_summary
from snakebench.logs import bounded
from snakebench.queueing import (
    connect_redis,
    fail_for_good,
    is_work_horse,
    mark_run_started,
    rq_settings,
)
from snakebench.queueing.orphans import children_die_with_this_process, die_with_parent
from snakebench.store import GameStateError, database, get_game, open_store_once

log = logging.getLogger(__name__)

if get_current_job() is None:
    # Imported as the worker's settings module (`rq worker -c jobs.run_game`), before it
    # forks a work horse per game: load the provider SDKs (~3 s of imports) here, once,
    # so every horse inherits them (docs/PERFORMANCE.md, "Latency-bound scale": 46% of
    # the ideal throughput at 64 concurrent games without this, 94% with it). A plain
    # `rq worker games` imports this module inside each horse, while it performs a job:
    # there a bot game skips the SDKs, and an LLM game imports only the one it calls.
    from snakebench.providers import anthropic_client, openai_compat, openai_responses

    # Named, so no linter drops the imports.
    PRELOADED = (anthropic_client, openai_compat, openai_responses)
    # Its work horses and its scheduler die with the worker (snakebench.queueing.orphans).
    children_die_with_this_process()

# Read by `rq worker -c jobs.run_game` as its settings module: with -c, RQ takes the
# Redis URL from the module, not the environment, so without this a worker would quietly
# use localhost; with it, no --url "$REDIS_URL" (a password in `ps`) is needed. Behind
# Sentinel (REDIS_SENTINELS, docs/HA.md) REDIS_URL is None and SENTINEL is RQ's dict.
# Validated as every other entry point does: a bad value stops the worker at start-up
# rather than failing each job it takes.
REDIS_URL, SENTINEL = rq_settings.REDIS_URL, rq_settings.SENTINEL


class GameFailedError(RuntimeError):
    """The game ended ``failed`` (its worker's fault, e.g. a missing API key): raised so
    that RQ records a failed job with the reason (rq-dashboard's Failed registry, the
    worker's log; ``rq info`` counts it), instead of a finished job whose result hides
    it."""


def run_game(game_id: str) -> dict[str, Any]:
    """Play the stored game ``game_id`` and record its end. Idempotent: the job id
    is the game id; a finished game returns its stored result; a game left
    ``running`` by a dead worker starts again from its seed under the same id.

    Returns the game's summary (primitives only, as the wire requires) for a
    completed, void or cancelled game; raises :class:`GameFailedError` for a failed
    one, without a retry."""
    if not isinstance(game_id, str):
        raise TypeError(f"run_game takes a game id, not {type(game_id).__name__}")
    job = get_current_job()
    if job is not None:
        mark_run_started(job)
        if is_work_horse(job):  # a plain worker's horse: die with it too, however started
            die_with_parent(os.getppid())
    settings = get_settings()
    open_store_once(settings)
    try:
        summary = run_stored_game(
            game_id, settings=settings, worker=_worker_name(), live=_job_connection()
        )
        after_game(game_id)  # a failed game, its batch finished: alerts
    except GameStateError as exc:
        # Cancelled (or finished by another run) while this one played: its result does
        # not count, and that is no failure of this job, so answer with what is stored.
        summary = stored_summary(get_game(game_id))
        log.warning("game %s: this run's result was not recorded, the game is %s: %s",
                    game_id, summary["status"], bounded(exc))  # fmt: skip
    finally:
        database.close()  # a work horse is about to exit; do not leak the connection
    video_after_game(summary, settings, _job_connection())  # SNAKEBENCH_VIDEOS=1
    if summary["status"] == "failed":
        fail_for_good(job)
        raise GameFailedError(f"game {game_id} failed: {summary['error']}")
    return summary


def health_check() -> dict[str, Any]:
    """What a worker can reach, from inside a worker: ``dispatch health`` runs it
    through each queue and reports who answered."""
    settings = get_settings()
    report: dict[str, Any] = {
        "status": "healthy",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": _worker_name(),
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("snakebench", "rq", "redis", "peewee")},
        },
    }
    report["database"] = _reachable(lambda: _select_one(settings))
    job = get_current_job()
    report["redis"] = _reachable(
        lambda: job.connection.ping() if job else connect_redis(settings=settings).ping()
    )
    if report["database"] is not True or report["redis"] is not True:
        report["status"] = "unhealthy"
    database.close()
    return report


def _select_one(settings: Settings) -> None:
    db: Any = open_store_once(settings)
    db.execute_sql("SELECT 1")


def _reachable(check: Any) -> bool | str:
    try:
        check()
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return True


def _job_connection() -> redis.Redis | None:
    """The Redis the job came from, to publish live boards on (None when run directly)."""
    job = get_current_job()
    return job.connection if job is not None else None


def _worker_name() -> str:
    job = get_current_job()
    worker = getattr(job, "worker_name", None) if job else None
    return str(worker or f"{socket.gethostname()}:{os.getpid()}")
