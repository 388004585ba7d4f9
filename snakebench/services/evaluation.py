"""The placement ladder: ``snakebench evaluate MODEL`` places a new model among the rated.

An evaluation plays ``games_target`` games, one at a time. Each next opponent is chosen
when the previous game has ended, from the ratings as that game left them
(:func:`choose_opponent`): the game that tells most about the new model's place is the
one against the model whose rating is closest to its own, weighted by how sure both
ratings are, which is exactly TrueSkill's match quality.
The ladder's optional tactics (``price-band``, ``rematch``, ``climb``: kept in its
batch's params, read at each step with the latest completed game) narrow the
candidates first (:class:`Tactics`).

Chaining is event driven, never a polling loop: each game's RQ job carries
``on_success`` / ``on_failure`` callbacks (:mod:`jobs.evaluate`) that call
:func:`advance`, which creates and enqueues the next game or finishes the evaluation.
``--sync`` runs the same :func:`advance` in-process between games (:func:`run_sync`).

Counting: only ``completed`` games count towards ``games_target``. A ``void``, ``failed``
or ``cancelled`` game says nothing about skill, so it is replaced, but at most
``games_target`` replacements in all (:func:`max_games`): an evaluation whose games keep
failing (a provider down for hours) ends ``failed`` instead of spending forever.
The model's ``test_status`` goes ``untested -> testing -> ranked``; a failed evaluation
puts it back (``ranked`` if it has rated games, else ``untested``).

Who plays next is :mod:`snakebench.services.evaluation_opponents` (pure); reading and locking
the rows is :mod:`snakebench.store.evaluation_queries`; both are re-exported here.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import redis

from snakebench.config import Settings, get_settings
from snakebench.games.simulation import GameParams, check_game, run_stored_game
from snakebench.queueing import EVALUATION_ON_FAILURE, EVALUATION_ON_SUCCESS
from snakebench.queueing.recovery import enqueue_missing
from snakebench.services.batches import MAX_SEED, cancel_batch
from snakebench.services.evaluation_opponents import (
    MAX_GAMES_PER_OPPONENT,
    LastGame,
    Rated,
    Tactics,
    check_tactics,
    choose_opponent,
    match_quality,
)
from snakebench.store import (
    Batch,
    Evaluation,
    GameStateError,
    Model,
    create_batch,
    create_game,
    get_active_model,
    transaction,
)
from snakebench.store.evaluation_queries import (
    LIVE_EVALUATION,
    EvaluationError,
    claim_step,
    create_evaluation,
    evaluation_batch,
    evaluation_games,
    evaluation_of_game,
    finish_evaluation,
    get_evaluation,
    last_completed,
    live_evaluation_of,
    live_evaluations,
    locked,
    mark_testing,
    pool,
)

__all__ = [
    "LIVE_EVALUATION",
    "MAX_GAMES_PER_OPPONENT",
    "EvaluationError",
    "LastGame",
    "Rated",
    "Step",
    "Tactics",
    "advance",
    "advance_live",
    "cancel_evaluation",
    "checked_tactics",
    "choose_opponent",
    "evaluation_of_game",
    "get_evaluation",
    "live_evaluations",
    "match_quality",
    "max_games",
    "run_sync",
    "start_evaluation",
]

ON_SUCCESS = EVALUATION_ON_SUCCESS
ON_FAILURE = EVALUATION_ON_FAILURE
GAME_TYPE = "evaluation"
BY_OPERATOR = "cancelled by its operator"


def max_games(evaluation: Evaluation) -> int:
    """Games an evaluation may create in all: its target plus as many replacements."""
    return max_games_for(evaluation.games_target)


def max_games_for(games_target: int) -> int:
    return 2 * games_target


# --- starting -----------------------------------------------------------------------


def start_evaluation(
    name: str,
    games: int = 10,
    *,
    params: GameParams | None = None,
    priority: str = "normal",
    sync: bool = False,
    settings: Settings | None = None,
    tactics: Sequence[str] = (),
) -> Evaluation:
    """Validate, then write the evaluation (``queued``), its batch (``total_games`` =
    ``games``) and mark the model ``testing``, in one transaction. No game yet, no Redis:
    :func:`advance` creates the first. Refused: ``games`` < 1, an unknown, removed or
    retired model, one already under a live evaluation, no possible opponent, or a
    first game that could only fail (rules, API keys: :func:`check_game`), an unknown
    tactic. ``tactics`` (:mod:`snakebench.services.evaluation_opponents`) are kept in
    the batch's params, where every step of the ladder reads them."""
    settings = settings or get_settings()
    params = params or GameParams(max_rounds=100)
    if games < 1:
        raise EvaluationError(f"games must be at least 1, got {games}")
    tactic_names = checked_tactics(tactics)
    if params.seed is not None and not 0 <= params.seed <= MAX_SEED - max_games_for(games):
        raise EvaluationError(f"seed must be between 0 and {MAX_SEED - max_games_for(games)}")
    model = get_active_model(name)
    if model.test_status == "retired":
        raise EvaluationError(f"model {name!r} is retired; it is not placed again")
    _refuse_live(model)
    opponent = choose_opponent(model, pool(), {})
    if opponent is None:
        raise EvaluationError(f"no active model for {name!r} to play against")
    check_game(name, opponent.name, params, settings)
    rules = _rules(params)
    with transaction(immediate=True):
        # Two starts for one model cannot both pass: on SQLite BEGIN IMMEDIATE already
        # serializes them, on PostgreSQL the model's row lock does.
        locked(Model, model.id)
        _refuse_live(model)
        if not mark_testing(model):
            raise EvaluationError(f"model {name!r} was removed or retired meanwhile")
        batch = create_batch(
            name=f"evaluation of {name}",
            params={"evaluation": True, "model": name, "games": games, "rules": rules,
                    "priority": priority, "seed": params.seed,
                    **({"mode": "sync"} if sync else {}),
                    **({"tactics": list(tactic_names)} if tactic_names else {})},
            total_games=games,
        )  # fmt: skip
        return create_evaluation(model, batch.id, games)


def checked_tactics(names: Sequence[str]) -> tuple[str, ...]:
    """The ladder tactics ``names``, each once; :class:`EvaluationError` for an unknown one."""
    try:
        return check_tactics(names)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None


def _refuse_live(model: Model) -> None:
    live = live_evaluation_of(model)
    if live is not None:
        raise EvaluationError(
            f"model {model.name!r} is already being evaluated (evaluation {live.id}, "
            f"{live.status}); see: snakebench evaluate --status {model.name}"
        )


def _rules(params: GameParams) -> dict[str, Any]:
    """The options every game of the ladder is played with, as its batch stores them."""
    params.check()
    return asdict(params.options())


# --- the ladder ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What :func:`advance` found or did: the evaluation's status, the game it created
    (if it did), the evaluation's games still to play and those it enqueued."""

    evaluation_id: int
    status: str
    created: str | None = None
    pending: tuple[str, ...] = ()
    enqueued: tuple[str, ...] = ()

    @property
    def over(self) -> bool:
        return self.status not in LIVE_EVALUATION


def advance(
    evaluation_id: int,
    connection: redis.Redis | None = None,
    *,
    settings: Settings | None = None,
) -> Step:
    """Move the ladder on: while a game of the evaluation is still to be played, do
    nothing but (with a ``connection``) make sure it has a live job; once none is,
    finish the evaluation or create the next game against :func:`choose_opponent`'s
    pick, and enqueue it with the callbacks that call this again when it ends.

    Idempotent: the evaluation's row is locked for the decision (PostgreSQL: FOR
    UPDATE; SQLite: BEGIN IMMEDIATE), the ``games_started`` counter is claimed by a
    conditional UPDATE that also requires a live evaluation, and enqueueing goes
    through :func:`snakebench.queueing.recovery.enqueue_missing` (the batch's lock, only
    games with no live job, a dead worker's job cleared first). So two calls for the
    same finished game create one next game, an evaluation cancelled meanwhile never
    comes back, and a lost callback, a killed work horse or a game reconciled without
    callbacks is repaired by calling it again (``evaluate --resume``, ``reconcile``).
    """
    step = _advance_in_db(evaluation_id)
    if connection is None or not step.pending:
        return step
    enqueued = _enqueue(step, connection, settings)
    return Step(step.evaluation_id, step.status, step.created, step.pending, enqueued)


def _advance_in_db(evaluation_id: int) -> Step:
    with transaction(immediate=True):
        ev: Evaluation = locked(Evaluation, evaluation_id)
        if ev.status not in LIVE_EVALUATION:
            return Step(ev.id, ev.status)
        model: Model = ev.model
        if not model.is_active or model.test_status == "retired":
            why = "retired" if model.test_status == "retired" else "removed"
            return Step(
                ev.id, finish_evaluation(ev, "cancelled", f"model {model.name!r} was {why}")
            )
        games = evaluation_games(ev)
        pending = tuple(gid for gid, status, _ in games if status in ("queued", "running"))
        if pending:
            return Step(ev.id, ev.status, pending=pending)
        played = Counter(opp for _, status, opp in games if status == "completed")
        if sum(played.values()) >= ev.games_target:
            return Step(ev.id, finish_evaluation(ev, "finished"))
        batch = evaluation_batch(ev)
        if batch.status == "cancelled":
            return Step(ev.id, finish_evaluation(ev, "cancelled", "its batch was cancelled"))
        if ev.games_started >= max_games(ev):
            error = f"only {sum(played.values())} of {ev.games_started} games completed"
            return Step(ev.id, finish_evaluation(ev, "failed", error))
        candidates = pool()
        opponent = choose_opponent(
            model, candidates, played, tactics=_tactics(ev, batch, candidates)
        )
        if opponent is None:
            return Step(
                ev.id, finish_evaluation(ev, "failed", "no active model left to play against")
            )
        created = _create_next(ev, batch, model, opponent.name)
        if created is None:  # another call claimed this step first
            return Step(ev.id, ev.status)
        return Step(ev.id, "running", created=created, pending=(created,))


def _tactics(ev: Evaluation, batch: Batch, candidates: Sequence[Model]) -> Tactics | None:
    """The ladder's tactics (its batch's params) and what they read, or None."""
    names = (batch.params or {}).get("tactics") or []
    if not names:
        return None
    last = last_completed(ev)
    return Tactics(
        names=frozenset(str(name) for name in names),
        last=None if last is None else LastGame(*last),
        prices={m.name: m.price_input_per_m + m.price_output_per_m for m in candidates},
    )


def _create_next(ev: Evaluation, batch: Batch, model: Model, opponent: str) -> str | None:
    """Claim step ``games_started`` (:func:`claim_step`: of two racing calls one wins)
    and create its game; the new model alternates sides to cancel any bias."""
    n = claim_step(ev, batch)
    if n is None:
        return None
    players = [model.name, opponent] if n % 2 == 0 else [opponent, model.name]
    rules = dict((batch.params or {}).get("rules", {}))
    first_seed = (batch.params or {}).get("seed")
    seed = secrets.randbits(31) if first_seed is None else int(first_seed) + n
    game = create_game(seed=seed, players=players, batch_id=batch.id, game_type=GAME_TYPE, **rules)
    return str(game.id)


def _enqueue(step: Step, connection: redis.Redis, settings: Settings | None) -> tuple[str, ...]:
    """Enqueue the pending games that have no live job; the batch's enqueueing gives
    an evaluation's games the ladder's callbacks (:data:`ON_SUCCESS`, :data:`ON_FAILURE`)."""
    batch = evaluation_batch(get_evaluation(step.evaluation_id))
    return tuple(enqueue_missing(batch, list(step.pending), connection, settings=settings))


def run_sync(
    evaluation_id: int,
    settings: Settings | None = None,
    on_game: Callable[[dict[str, Any]], None] | None = None,
) -> Evaluation:
    """Play the whole ladder in this process, no Redis: :func:`advance`, play the game
    it created, again, until the evaluation is over. ``on_game`` gets each summary."""
    settings = settings or get_settings()
    while True:
        step = advance(evaluation_id)
        if step.over or not step.pending:
            return get_evaluation(evaluation_id)
        for game_id in step.pending:
            try:
                summary = run_stored_game(game_id, settings=settings)
            except GameStateError:  # cancelled meanwhile
                continue
            if on_game is not None:
                on_game(summary)


# --- reading, stopping and the workers' side ----------------------------------------


def advance_live(
    connection: redis.Redis, *, batch_id: str | None = None, settings: Settings | None = None
) -> list[str]:
    """:func:`advance` every live evaluation (those run by ``--sync`` only when their
    batch is named): cheap and idempotent, it repairs a ladder whose callback was lost
    or whose work horse was killed. Returns the games enqueued."""
    enqueued: list[str] = []
    for ev in live_evaluations(batch_id=batch_id, with_sync=batch_id is not None):
        enqueued += advance(ev.id, connection, settings=settings).enqueued
    return enqueued


def cancel_evaluation(evaluation_id: int, connection: redis.Redis | None = None) -> int:
    """Stop an evaluation: in one transaction, mark it ``cancelled`` (the model back as
    in :func:`finish_evaluation`), cancel its games still to play and close its batch;
    returns how many games were cancelled. With a ``connection`` (through
    :func:`snakebench.services.batches.cancel_batch`) their queued jobs are dropped and
    a running game's job is stopped; without one, a queued job finds its game cancelled
    and plays nothing, but a running game plays on to its end (its result refused)."""
    ev = get_evaluation(evaluation_id)
    if ev.batch_id is None:
        with transaction(immediate=True):
            finish_evaluation(locked(Evaluation, ev.id), "cancelled", BY_OPERATOR)
        return 0
    return cancel_batch(ev.batch_id, connection, reason=BY_OPERATOR)
