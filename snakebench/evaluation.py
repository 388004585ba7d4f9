"""The placement ladder: ``snakebench evaluate MODEL`` places a new model among the rated.

An evaluation plays ``games_target`` games, one at a time. Each next opponent is chosen
when the previous game has ended, from the ratings as that game left them
(:func:`choose_opponent`): the game that tells most about the new model's place is the
one against the model whose rating is closest to its own, weighted by how sure both
ratings are, which is exactly TrueSkill's match quality.

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

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis
import trueskill

from snakebench.batch_control import batch_lock, live_games
from snakebench.config import Settings, get_settings
from snakebench.queueing import (
    EVALUATION_ON_FAILURE,
    EVALUATION_ON_SUCCESS,
    enqueue_game_with_callbacks,
)
from snakebench.ratings.trueskill_rating import ENVIRONMENT
from snakebench.simulation import GameParams, check_game, run_stored_game
from snakebench.store import (
    Batch,
    Evaluation,
    Game,
    GameStateError,
    Model,
    Participant,
    batch_max_rounds,
    cancel_batch_games,
    create_batch,
    create_game,
    get_active_model,
    transaction,
    utcnow,
)

MAX_GAMES_PER_OPPONENT = 2  # as the original ladder: a third game adds little
LIVE_EVALUATION = ("queued", "running")
ON_SUCCESS = EVALUATION_ON_SUCCESS
ON_FAILURE = EVALUATION_ON_FAILURE
GAME_TYPE = "evaluation"
# Opponent tiers, best first: ranked models; else (a fresh store) untested ones, the
# bots included; else other models under evaluation themselves.
_TIERS = ("ranked", "untested", "testing")


class EvaluationError(ValueError):
    """An evaluation that cannot start as asked (games < 1, model already under test...)."""


class Rated(Protocol):
    """What :func:`choose_opponent` reads of a model (a :class:`Model` row fits)."""

    @property
    def name(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def test_status(self) -> str: ...
    @property
    def trueskill_mu(self) -> float: ...
    @property
    def trueskill_sigma(self) -> float: ...


def match_quality(a: Rated, b: Rated) -> float:
    """TrueSkill's draw probability for ``a`` v ``b`` (0..1): high when the means are
    close AND the sigmas small relative to beta, i.e. when the game's outcome is least
    predictable and so moves the new model's belief most."""
    rating = ENVIRONMENT.create_rating
    first, second = (rating(m.trueskill_mu, m.trueskill_sigma) for m in (a, b))
    return float(trueskill.quality_1vs1(first, second, env=ENVIRONMENT))


def choose_opponent(
    model: Rated,
    pool: Iterable[Rated],
    history: Mapping[str, int],
    *,
    cap: int = MAX_GAMES_PER_OPPONENT,
) -> Rated | None:
    """The most informative next opponent for ``model``, or None if there is none.

    Pure and deterministic. Candidates are the active models of ``pool`` other than
    ``model`` (and never retired ones), from the first non-empty tier of ranked,
    untested (the bots in a fresh store), testing. Those already played ``cap`` times
    (``history``: opponent name -> completed games) are left out while others remain;
    when all are capped, the least played ones stay. Among those, the highest
    :func:`match_quality` wins; ties go to the name first in alphabetical order.
    """
    others = [m for m in pool if m.is_active and m.name != model.name]
    tier: list[Rated] = []
    for status in _TIERS:
        tier = [m for m in others if m.test_status == status]
        if tier:
            break
    if not tier:
        return None
    fresh = [m for m in tier if history.get(m.name, 0) < cap]
    if not fresh:
        least = min(history.get(m.name, 0) for m in tier)
        fresh = [m for m in tier if history.get(m.name, 0) == least]
    return min(fresh, key=lambda m: (-round(match_quality(model, m), 12), m.name))


def max_games(evaluation: Evaluation) -> int:
    """Games an evaluation may create in all: its target plus as many replacements."""
    return 2 * evaluation.games_target


# --- starting -----------------------------------------------------------------------


def start_evaluation(
    name: str,
    games: int = 10,
    *,
    params: GameParams | None = None,
    priority: str = "normal",
    sync: bool = False,
    settings: Settings | None = None,
) -> Evaluation:
    """Validate, then write the evaluation (``queued``), its batch (``total_games`` =
    ``games``) and mark the model ``testing``, in one transaction. No game yet, no Redis:
    :func:`advance` creates the first. Refused: ``games`` < 1, an unknown, removed or
    retired model, one already under a live evaluation, no possible opponent, or a
    first game that could only fail (rules, API keys: :func:`check_game`)."""
    settings = settings or get_settings()
    params = params or GameParams(max_rounds=100)
    if games < 1:
        raise EvaluationError(f"games must be at least 1, got {games}")
    model = get_active_model(name)
    if model.test_status == "retired":
        raise EvaluationError(f"model {name!r} is retired; it is not placed again")
    _refuse_live(model)
    opponent = choose_opponent(model, _pool(), {})
    if opponent is None:
        raise EvaluationError(f"no active model for {name!r} to play against")
    check_game(name, opponent.name, params, settings)
    rules = _rules(params)
    with transaction(immediate=True):
        _refuse_live(model)  # again, inside the write lock: two starts cannot both pass
        batch = create_batch(
            name=f"evaluation of {name}",
            params={"evaluation": True, "model": name, "games": games, "rules": rules,
                    "priority": priority, **({"mode": "sync"} if sync else {})},
            total_games=games,
        )  # fmt: skip
        evaluation = Evaluation.create(model=model.id, batch=batch.id, games_target=games)
        Model.update(test_status="testing", updated_at=utcnow()).where(
            Model.id == model.id
        ).execute()
    return evaluation


def _refuse_live(model: Model) -> None:
    live = (
        Evaluation.select()
        .where((Evaluation.model == model.id) & Evaluation.status.in_(LIVE_EVALUATION))
        .first()
    )
    if live is not None:
        raise EvaluationError(
            f"model {model.name!r} is already being evaluated (evaluation {live.id}, "
            f"{live.status}); see: snakebench evaluate --status {model.name}"
        )


def _rules(params: GameParams) -> dict[str, Any]:
    params.rules().validate(2)
    rules = asdict(params)
    for key in ("seed", "game_id", "batch_id", "game_type"):
        rules.pop(key)
    return rules


def _pool() -> list[Model]:
    return list(Model.select().where(Model.is_active == True))  # noqa: E712 (peewee)


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

    Idempotent: two calls for the same finished game create one next game (the
    ``games_started`` counter is claimed by a conditional UPDATE in the same
    transaction as the game), and enqueueing happens under the batch's lock, only for
    games with no live job. So a lost callback, or a game reconciled without one, is
    repaired by calling it again (``snakebench evaluate --resume``).
    """
    step = _advance_in_db(evaluation_id)
    if connection is None or not step.pending:
        return step
    enqueued = _enqueue(step, connection, settings)
    return Step(step.evaluation_id, step.status, step.created, step.pending, enqueued)


def _advance_in_db(evaluation_id: int) -> Step:
    with transaction(immediate=True):
        ev = get_evaluation(evaluation_id)
        if ev.status not in LIVE_EVALUATION:
            return Step(ev.id, ev.status)
        games = _games(ev)
        pending = tuple(gid for gid, status, _ in games if status in ("queued", "running"))
        if pending:
            return Step(ev.id, ev.status, pending=pending)
        played = Counter(opp for _, status, opp in games if status == "completed")
        if sum(played.values()) >= ev.games_target:
            return Step(ev.id, _finish(ev, "finished"))
        if Batch.get_by_id(ev.batch_id).status == "cancelled":
            return Step(ev.id, _finish(ev, "cancelled", "its batch was cancelled"))
        if ev.games_started >= max_games(ev):
            error = f"only {sum(played.values())} of {ev.games_started} games completed"
            return Step(ev.id, _finish(ev, "failed", error))
        model = Model.get_by_id(ev.model_id)
        opponent = choose_opponent(model, _pool(), played)
        if opponent is None:
            return Step(ev.id, _finish(ev, "failed", "no active model left to play against"))
        created = _create_next(ev, model, opponent.name)
        if created is None:  # another call claimed this step first
            return Step(ev.id, ev.status)
        return Step(ev.id, "running", created=created, pending=(created,))


def _games(ev: Evaluation) -> list[tuple[str, str, str]]:
    """(game id, status, opponent name) of each game of the evaluation, oldest first."""
    query: Iterable[Any] = (
        Game.select(Game.id, Game.status, Model.name)
        .join(Participant)
        .join(Model)
        .where((Game.batch == ev.batch_id) & (Participant.model != ev.model_id))
        .order_by(Game.created_at)
        .tuples()
    )
    return [(str(gid), str(status), str(name)) for gid, status, name in query]


def _create_next(ev: Evaluation, model: Model, opponent: str) -> str | None:
    """Claim step ``games_started`` (a conditional UPDATE: of two racing calls one
    wins) and create its game; the new model alternates sides to cancel any bias."""
    n = ev.games_started
    claimed = (
        Evaluation.update(games_started=n + 1, status="running", updated_at=utcnow())
        .where((Evaluation.id == ev.id) & (Evaluation.games_started == n))
        .execute()
    )
    if not claimed:
        return None
    batch = Batch.get_by_id(ev.batch_id)
    if n >= batch.total_games:  # a replacement: the batch grows, and is active again
        Batch.update(total_games=Batch.total_games + 1).where(Batch.id == batch.id).execute()
        Batch.update(status="active").where(
            (Batch.id == batch.id) & (Batch.status == "finished")
        ).execute()
    players = [model.name, opponent] if n % 2 == 0 else [opponent, model.name]
    rules = dict((batch.params or {}).get("rules", {}))
    game = create_game(
        seed=secrets.randbits(31), players=players, batch_id=batch.id, game_type=GAME_TYPE, **rules
    )
    return str(game.id)


def _finish(ev: Evaluation, status: str, error: str | None = None) -> str:
    """End the evaluation (once: a conditional UPDATE) and set the model's test status:
    ``ranked`` when finished; otherwise back to ``ranked`` if it has rated games, else
    ``untested``. Returns the evaluation's status."""
    changed = (
        Evaluation.update(status=status, error=error, updated_at=utcnow())
        .where((Evaluation.id == ev.id) & Evaluation.status.in_(LIVE_EVALUATION))
        .execute()
    )
    if changed:
        model = Model.get_by_id(ev.model_id)
        placed = status == "finished" or model.games_played > 0
        Model.update(test_status="ranked" if placed else "untested", updated_at=utcnow()).where(
            (Model.id == ev.model_id) & (Model.test_status == "testing")
        ).execute()
    return str(get_evaluation(ev.id).status)


def _enqueue(step: Step, connection: redis.Redis, settings: Settings | None) -> tuple[str, ...]:
    """Enqueue, with the ladder's callbacks, the pending games that have no live job."""
    batch = Batch.get_by_id(get_evaluation(step.evaluation_id).batch_id)
    priority = str((batch.params or {}).get("priority", "normal"))
    with batch_lock(connection, batch.id):
        live = live_games(step.pending, connection)
        missing = tuple(gid for gid in step.pending if gid not in live)
        for game_id in missing:
            enqueue_game_with_callbacks(
                game_id, max_rounds=batch_max_rounds(batch.id), priority=priority,
                connection=connection, on_success=ON_SUCCESS, on_failure=ON_FAILURE,
                settings=settings,
            )  # fmt: skip
    return missing


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


# --- reading and the workers' side --------------------------------------------------


def get_evaluation(evaluation_id: int) -> Evaluation:
    found = Evaluation.get_or_none(Evaluation.id == evaluation_id)
    if found is None:
        raise EvaluationError(f"unknown evaluation {evaluation_id}")
    return found


def evaluation_of_game(game_id: str) -> int | None:
    """The evaluation a game belongs to (through its batch), if any."""
    batch_id = Game.select(Game.batch).where(Game.id == game_id).scalar()
    if batch_id is None:
        return None
    found = Evaluation.select(Evaluation.id).where(Evaluation.batch == batch_id).scalar()
    return None if found is None else int(found)


def live_evaluations(models: Sequence[str] = ()) -> list[Evaluation]:
    """Queued or running evaluations (of ``models`` if given), oldest first."""
    query = Evaluation.select().where(Evaluation.status.in_(LIVE_EVALUATION))
    if models:
        query = query.join(Model).where(Model.name.in_(list(models)))
    return list(query.order_by(Evaluation.id))


def cancel_evaluation(evaluation_id: int) -> int:
    """Stop an evaluation: mark it ``cancelled`` (the model back as in :func:`_finish`)
    and cancel its games still to play in the database; returns how many. Their jobs
    then return at once (a cancelled game is not played) and advance finds it over."""
    ev = get_evaluation(evaluation_id)
    with transaction(immediate=True):
        _finish(ev, "cancelled", "cancelled by its operator")
    return len(cancel_batch_games(ev.batch_id)) if ev.batch_id else 0
