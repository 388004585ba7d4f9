"""Batches: many games between two models, created in bulk and run as RQ jobs. A
batch's whole life is here, once, for the CLI, the web API and evaluations alike:
plan, budget, write and enqueue it; watch its progress and its budget; cancel it;
retry its failed games. (Reconciling spans batches and evaluations:
:mod:`snakebench.services.reconcile`.)

The order of things follows the architecture's contract (the database is the truth,
Redis only transport): :func:`create_batch_games` validates everything and writes the
batch, its games and their participants in one transaction, touching no Redis;
:func:`enqueue_batch` then enqueues one job per queued game (job id = game id, payload
= the id). A crash between the two, or a lost Redis, loses nothing: reconciling
re-enqueues what has no live job. Every change goes to the database first (in one
transaction, counters included), then Redis is made to agree
(:mod:`snakebench.queueing.recovery`). Progress is read from the batch row's counters,
which every game's status change moves in its own transaction, so watching a batch of
10,000 games costs the same single-row read as watching one of ten.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import redis

from snakebench.config import Settings, get_settings
from snakebench.games.simulation import GameParams, check_game, run_stored_game
from snakebench.logs import bounded
from snakebench.options import GameOptions
from snakebench.queueing import QUEUE_NAMES, ping
from snakebench.queueing.recovery import enqueue_missing, stop_jobs
from snakebench.services.budget import check_budget, estimate_cost
from snakebench.services.webhooks import WebhookError, check_webhook
from snakebench.store import (
    Batch,
    GameStateError,
    Model,
    NewGame,
    batch_game_ids,
    create_batch_with_games,
    get_batch,
    list_batches,
    requeue_batch_games,
    update_batch_params,
)
from snakebench.store.evaluation_queries import cancel_games_of_batch

log = logging.getLogger(__name__)

MAX_SEED = 2**63 - 1  # seeds are stored as BIGINT
# Games in one batch: 100,000 are written in under a minute (docs/PERFORMANCE.md, part 3);
# far beyond that a typo (--count 1000000000) would fill the disk before anything ran.
MAX_BATCH_GAMES = 100_000

__all__ = [
    "BatchError",
    "BatchPlan",
    "BatchProgress",
    "BatchSpec",
    "NotEnqueuedError",
    "PreparedBatch",
    "batch_progress",
    "cancel_batch",
    "create_batch_games",
    "enforce_budget",
    "enqueue_batch",
    "latest_batch_id",
    "plan_batch",
    "prepare_batch",
    "progress_of",
    "retry_batch",
    "run_batch_sync",
    "submit",
    "submit_batch",
    "write_batch",
]


class BatchError(ValueError):
    """A batch that cannot be dispatched as asked (bad count, priority, budget...);
    ``field`` names the spec field at fault (the API's 422 names it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BatchSpec(GameOptions):
    """What to dispatch: two models, how many games, and the game options every game
    is played with. ``count`` counts games; with ``mirror`` it must be even, as each
    seed is played twice, sides swapped (game 2k: A v B, game 2k+1: B v A). ``seed``
    makes the batch reproducible: game (or pair, with ``mirror``) i gets ``seed + i``;
    without it every game (pair) draws its own."""

    model_a: str
    model_b: str
    count: int = 10
    seed: int | None = None
    mirror: bool = False
    priority: str = "normal"
    max_cost: float | None = None
    name: str | None = None
    # Where this batch's events are POSTed too (docs/WEBHOOKS.md); kept on the batch
    # row only, never in its params (a webhook URL may carry a token).
    webhook: str | None = None

    def game_params(self) -> GameParams:
        """The options every game of the batch is played with."""
        return GameParams(**asdict(self.options()))

    @property
    def seeds_needed(self) -> int:
        return self.count // 2 if self.mirror else self.count


@dataclass(frozen=True)
class BatchProgress:
    """A batch's state, read from its row's counters (O(1) whatever its size)."""

    batch_id: str
    total: int
    queued: int
    running: int
    completed: int
    failed: int
    void: int
    cancelled: int
    cost: float
    created_at: datetime
    status: str
    max_cost: float | None = None
    name: str | None = None

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.void + self.cancelled

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``done`` and ``finished`` included."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return {**data, "done": self.done, "finished": self.finished}


@dataclass(frozen=True)
class PreparedBatch:
    """A batch checked and laid out (models, keys, rules, budget) but not written yet.
    Submitting checks Redis between the two, so a bad request is refused as such even
    with Redis down, and nothing is written unless Redis answers."""

    write: Callable[[], Batch]


def prepare_batch(
    spec: BatchSpec,
    settings: Settings | None = None,
    *,
    force: bool = False,
    params: dict[str, Any] | None = None,
) -> PreparedBatch:
    """Validate ``spec`` and lay out its games, touching neither the database's rows
    nor Redis. Refused here: count, priority, seeds, rules, unknown or removed models,
    missing API keys, and a worst-case cost (the estimate) above ``max_cost`` (unless
    ``force``). ``params`` are stored with the batch's own (the API's ``daily_cap``)."""
    plan = plan_batch(spec, settings or get_settings())
    check_budget(plan.estimate, spec.max_cost, force=force)
    stored = {**asdict(spec), "estimated_cost": plan.estimate, **(params or {})}
    return PreparedBatch(functools.partial(write_batch, spec, plan.games, stored))


def create_batch_games(
    spec: BatchSpec,
    settings: Settings | None = None,
    *,
    force: bool = False,
    params: dict[str, Any] | None = None,
) -> Batch:
    """:func:`prepare_batch`, then write the batch and its games (``queued``) in bulk;
    nothing goes to Redis."""
    return prepare_batch(spec, settings, force=force, params=params).write()


@dataclass(frozen=True)
class BatchPlan:
    """A validated batch not written yet: its models, games and the most it can cost (its estimate).
    Tournaments plan one batch per pair and write them all as one."""

    models: list[Model]
    games: list[NewGame]
    estimate: float


def plan_batch(spec: BatchSpec, settings: Settings) -> BatchPlan:
    """Check ``spec`` (see :func:`create_batch_games`) and lay out its games; no
    budget check and nothing written."""
    _check_spec(spec)
    models = check_game(spec.model_a, spec.model_b, spec.game_params(), settings)
    a, b = (model.id for model in models)
    games = [
        NewGame(seed=seed, model_ids=(b, a) if swapped else (a, b))
        for seed in _seeds(spec)
        for swapped in ((False, True) if spec.mirror else (False,))
    ]
    estimate = estimate_cost(models, len(games), spec.game_params().rules(), spec.prompt_variant)
    return BatchPlan(models, games, estimate)


def write_batch(
    spec: BatchSpec, games: list[NewGame], params: dict[str, Any], game_type: str = "ladder"
) -> Batch:
    """Write one batch of ``games`` played by ``spec``'s rules, name and budget."""
    columns = asdict(replace(spec.game_params(), game_type=game_type))
    for key in ("seed", "game_id", "batch_id"):
        columns.pop(key)
    params = {key: value for key, value in params.items() if key != "webhook"}
    return create_batch_with_games(
        games, settings=columns, name=spec.name, params=params, max_cost=spec.max_cost,
        webhook_url=spec.webhook,
    )  # fmt: skip


def _check_spec(spec: BatchSpec) -> None:
    if not 1 <= spec.count <= MAX_BATCH_GAMES:
        raise BatchError(
            f"count must be between 1 and {MAX_BATCH_GAMES:,} (one batch; submit several "
            f"for more), got {spec.count:,}",
            "count",
        )
    if spec.mirror and spec.count % 2:
        raise BatchError(
            f"with mirror, count must be even (games in pairs), got {spec.count}", "count"
        )
    if spec.priority not in QUEUE_NAMES:
        raise BatchError(f"priority must be high, normal or low, not {spec.priority!r}", "priority")
    if spec.max_cost is not None and not spec.max_cost > 0:
        raise BatchError(f"max_cost must be above zero, got {spec.max_cost}", "max_cost")
    if spec.seed is not None and not 0 <= spec.seed <= MAX_SEED - spec.seeds_needed + 1:
        raise BatchError(f"seed must be between 0 and {MAX_SEED - spec.seeds_needed + 1}", "seed")
    try:
        check_webhook(spec.webhook)
    except WebhookError as exc:
        raise BatchError(str(exc), "webhook") from None


def _seeds(spec: BatchSpec) -> list[int]:
    if spec.seed is not None:
        return [spec.seed + i for i in range(spec.seeds_needed)]
    return [secrets.randbits(31) for _ in range(spec.seeds_needed)]


def enqueue_batch(
    batch_id: str,
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> int:
    """Enqueue every ``queued`` game of the batch that has no live job yet (pipelined);
    ``at`` schedules them. Returns how many jobs were enqueued. Safe to repeat, and
    safe against a concurrent reconcile: no game gets two jobs."""
    batch = get_batch(batch_id)
    if at is not None:
        update_batch_params(batch_id, at=at.isoformat())
    ids = batch_game_ids(batch_id, ("queued",))
    return len(enqueue_missing(batch, ids, connection, at=at, settings=settings))


class NotEnqueuedError(RuntimeError):
    """The batch was written but Redis failed before its games were all enqueued. They
    stay ``queued`` in the database, the truth, and reconciling enqueues them."""

    def __init__(self, batch_id: str, cause: Exception) -> None:
        super().__init__(
            f"batch {batch_id} was written but Redis failed ({cause}); "
            "`python -m snakebench.dispatch reconcile` enqueues it"
        )
        self.batch_id = batch_id


def submit(
    prepare: Callable[[], PreparedBatch],
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
) -> tuple[Batch, int]:
    """The one way a batch is submitted, from the CLI, a tournament or the web API:
    ``prepare`` it (checks and budget: :func:`prepare_batch`, or a tournament's), check
    that Redis answers (:class:`QueueError` before anything is written), write it, then
    enqueue its games (``at`` schedules them). Returns the batch and the jobs enqueued;
    :class:`NotEnqueuedError` if Redis fails after the write."""
    prepared = prepare()
    ping(connection)
    batch = prepared.write()
    try:
        enqueued = enqueue_batch(batch.id, connection, at=at, settings=settings)
    except redis.RedisError as exc:
        log.error("batch %s written but not enqueued: %s", batch.id, bounded(exc))
        raise NotEnqueuedError(batch.id, exc) from exc
    when = f", scheduled for {at.isoformat()}" if at else ""
    log.info("batch %s submitted: %d games, %d jobs enqueued%s",
             batch.id, batch.total_games, enqueued, when)  # fmt: skip
    return batch, enqueued


def submit_batch(
    spec: BatchSpec,
    connection: redis.Redis,
    *,
    at: datetime | None = None,
    settings: Settings | None = None,
    force: bool = False,
    params: dict[str, Any] | None = None,
) -> Batch:
    """:func:`submit` a two-model batch (:func:`create_batch_games`)."""

    def prepare() -> PreparedBatch:
        return prepare_batch(spec, settings, force=force, params=params)

    return submit(prepare, connection, at=at, settings=settings)[0]


def batch_progress(batch_id: str) -> BatchProgress:
    """The batch's progress from its counters: one single-row read."""
    return progress_of(get_batch(batch_id))


def progress_of(batch: Batch) -> BatchProgress:
    """:class:`BatchProgress` of a batch row already read (e.g. listed)."""
    return BatchProgress(
        batch_id=batch.id,
        total=batch.total_games,
        queued=batch.queued,
        running=batch.running,
        completed=batch.completed,
        failed=batch.failed,
        void=batch.void,
        cancelled=batch.cancelled,
        cost=batch.total_cost,
        created_at=batch.created_at,
        status=batch.status,
        max_cost=batch.max_cost,
        name=batch.name,
    )


def latest_batch_id() -> str | None:
    """The most recently created batch, if any."""
    latest = list_batches(limit=1)
    return latest[0].id if latest else None


def run_batch_sync(
    batch_id: str,
    settings: Settings | None = None,
    on_game: Callable[[dict[str, Any]], None] | None = None,
) -> BatchProgress:
    """Play each queued game of the batch in this process, one after the other, with
    no Redis (the seeds' ALWAYS_EAGER mode); ``on_game`` gets each game's summary.
    Marked ``mode: sync`` so that reconciling leaves its games to it."""
    settings = settings or get_settings()
    update_batch_params(batch_id, mode="sync")
    for game_id in batch_game_ids(batch_id, ("queued",)):
        try:
            summary = run_stored_game(game_id, settings=settings)
        except GameStateError:  # cancelled meanwhile: its result does not count
            continue
        if on_game is not None:
            on_game(summary)
    return batch_progress(batch_id)


def cancel_batch(
    batch_id: str, connection: redis.Redis | None, *, reason: str = "its batch was cancelled"
) -> int:
    """Cancel every queued or running game of the batch: marked ``cancelled`` in the
    database first (so a job that starts meanwhile plays nothing), then queued and
    scheduled jobs are removed from Redis and running ones stopped. Returns how many
    games were cancelled. A game that still ends afterwards is not recorded. Without a
    ``connection`` (a batch played with ``--sync``) only the database changes: a queued
    job then finds its game cancelled and plays nothing, a running one plays on to its
    end and its result is refused.

    An evaluation's batch ends its evaluation too (``cancelled``, error ``reason``), in
    the same transaction as its games (:func:`cancel_games_of_batch`).
    """
    cancelled = cancel_games_of_batch(batch_id, reason)
    if connection is not None:
        stop_jobs(cancelled, connection)
    log.info("batch %s: %d games cancelled (%s)", batch_id, len(cancelled), bounded(reason))
    return len(cancelled)


def enforce_budget(progress: BatchProgress, connection: redis.Redis | None) -> str:
    """Cancel what is left of a batch that has spent its ``max_cost``; say so (the
    monitor shows the line). The per-call caps stop every provider call that could
    pass the budget; this ends the games still queued behind them."""
    spent = progress.max_cost is not None and progress.cost >= progress.max_cost
    if not spent or progress.finished or connection is None:
        return ""
    cancelled = cancel_batch(progress.batch_id, connection, reason="its batch spent its budget")
    log.info("batch %s spent its budget ($%.4f of $%.4f): %d remaining games cancelled",
                progress.batch_id, progress.cost, progress.max_cost, cancelled)  # fmt: skip
    return f"budget spent (${progress.cost:.4f}): cancelled {cancelled} remaining games"


def retry_batch(batch_id: str, connection: redis.Redis, settings: Settings | None = None) -> int:
    """Put the batch's ``failed`` and ``void`` games back to ``queued`` under the same
    ids and enqueue them again; returns how many. Refused for an evaluation's batch:
    its ladder has replaced those games already."""
    batch = get_batch(batch_id)
    params = batch.params or {}
    if params.get("evaluation"):
        model = params.get("model", "MODEL")
        raise BatchError(
            f"batch {batch_id} is an evaluation's: its ladder already replaced its failed "
            f"and void games; to re-drive it use: snakebench evaluate --resume {model}"
        )
    requeued = requeue_batch_games(batch_id)
    enqueue_missing(batch, requeued, connection, settings=settings)
    log.info("batch %s: %d failed or void games queued again", batch_id, len(requeued))
    return len(requeued)
