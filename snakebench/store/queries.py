"""The queries the rest of SnakeBench runs: models, batches, and a game's life cycle.

A game's status only moves forward (queued -> running -> completed | void | failed |
cancelled). Every move is a conditional ``UPDATE ... WHERE status = <expected>``, so two
workers racing on one game cannot both win, and batch counters move with the status in
the same transaction (a batch's progress is then a single-row read).

Writes run in ``transaction(immediate=True)``: several worker processes may share one
SQLite file, and each block reads before it writes. Callers that must add work to the
same commit (a rating update with :func:`complete_game`) wrap the calls in their own
``transaction(immediate=True)``; the inner blocks then become savepoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.db import transaction
from snakebench.store.models import (
    FINAL_GAME_STATUSES,
    RESULTS,
    Batch,
    Game,
    Model,
    Participant,
    new_id,
    utcnow,
)
from snakebench.store.prompt_queries import lineup_prompt_variant
from snakebench.store.rating_queries import locked_models, record_trueskill

BOT_MODELS = ("random", "greedy", "survivor")
RESULT_STATUSES = ("completed", "void", "failed", "cancelled")
# What complete_game accepts per participant besides "slot" and "model".
PARTICIPANT_STATS = frozenset(
    {
        "score",
        "result",
        "death_round",
        "death_reason",
        "cost",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "provider_cost",
        "invalid_moves",
        "fallback_parses",
        "moves",
        "total_latency_ms",
        "total_wait_ms",
        "prompt_sha",
    }
)


class UnknownModelError(LookupError):
    """No model has this name; the message lists the names that exist."""

    def __init__(self, name: str, known_names: Iterable[str]) -> None:
        self.name = name
        self.known_names = sorted(known_names)
        known = ", ".join(self.known_names) or "(none)"
        super().__init__(f"unknown model {name!r}; known: {known}")


class UnknownGameError(LookupError):
    """No game has this id."""


class GameStateError(RuntimeError):
    """The game is not in a status this change may start from (e.g. already completed)."""


# --- models -------------------------------------------------------------------------


def get_model(name: str) -> Model:
    """The model called ``name``; an :class:`UnknownModelError` names the known ones."""
    model = Model.get_or_none(Model.name == name)
    if model is None:
        known = [m.name for m in Model.select(Model.name)]
        raise UnknownModelError(name, known)
    return model


class InactiveModelError(LookupError):
    """The model was removed (deactivated): it keeps its games but plays no more."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"model {name!r} was removed; bring it back with: snakebench models restore {name}"
        )


def get_active_model(name: str) -> Model:
    """The model ``name`` if it may play: :class:`UnknownModelError` or
    :class:`InactiveModelError` otherwise."""
    model = get_model(name)
    if not model.is_active:
        raise InactiveModelError(name)
    return model


def list_models(active_only: bool = False) -> list[Model]:
    """All models by name; only ``is_active`` ones when ``active_only``."""
    query = Model.select().order_by(Model.name)
    if active_only:
        query = query.where(Model.is_active == True)  # noqa: E712 (peewee expression)
    return list(query)


def set_daily_cap(model_id: int, usd: float | None) -> None:
    """Set (None: lift) what the model may spend per UTC day."""
    _update_model(model_id, daily_cap=usd)


def set_model_prompt_variant(model_id: int, variant: str) -> None:
    """Set the prompt variant the model is prompted with unless a game names one."""
    _update_model(model_id, prompt_variant=variant)


def set_model_active(model_id: int, active: bool) -> None:
    """Let the model play (``active``) or keep it from playing, its games kept."""
    _update_model(model_id, is_active=active)


def _update_model(model_id: int, **columns: Any) -> None:
    """Only these columns, in one UPDATE: ``save()`` would write back every column as
    read, and undo a rating update a worker committed in between."""
    Model.update(**columns, updated_at=utcnow()).where(Model.id == model_id).execute()


def has_played(model_id: int) -> bool:
    """Whether the model is in any game, whatever became of it."""
    return bool(Participant.select().where(Participant.model == model_id).exists())


def delete_model(model_id: int) -> None:
    """Delete the model's row: only for a model in no game (:func:`has_played`)."""
    Model.delete().where(Model.id == model_id).execute()


def upsert_model(name: str, *, provider: str, model_slug: str, **fields: Any) -> Model:
    """Create the model ``name`` or update the given fields of the existing one.

    Only the fields passed are changed on an existing row: ratings, counters and
    ``is_active`` survive a re-registration unless given explicitly.
    """
    values = {"provider": provider, "model_slug": model_slug, **fields}
    unknown = set(values) - set(Model._meta.fields)
    if unknown:
        raise ValueError(f"unknown model fields: {', '.join(sorted(unknown))}")
    values["updated_at"] = utcnow()
    with transaction(immediate=True):
        (
            Model.insert(name=name, **values)
            .on_conflict(conflict_target=[Model.name], update=values)
            .execute()
        )
    return get_model(name)


def ensure_bot_models() -> list[Model]:
    """Register the built-in bots (free, provider ``bot``) that are missing.

    Rows that exist are left alone, so a bot someone deactivated stays so, and the
    check costs one read when nothing is missing (every command runs it).
    """
    bots = Model.select().where(Model.name.in_(BOT_MODELS))
    missing = set(BOT_MODELS) - {model.name for model in bots}
    if missing:
        with transaction(immediate=True):
            for name in sorted(missing):
                Model.insert(
                    name=name, provider="bot", model_slug=name, created_at=utcnow()
                ).on_conflict_ignore().execute()
        bots = Model.select().where(Model.name.in_(BOT_MODELS))
    return sorted(bots, key=lambda model: BOT_MODELS.index(model.name))


# --- batches and game creation ------------------------------------------------------


def create_batch(
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    total_games: int = 0,
    max_cost: float | None = None,
    batch_id: str | None = None,
) -> Batch:
    """A new batch row (status ``active``); its games add to its counters as they move."""
    return Batch.create(
        id=batch_id or new_id(),
        name=name,
        params=dict(params or {}),
        total_games=total_games,
        max_cost=max_cost,
    )


# The Game columns create_game takes as keyword settings.
_GAME_SETTINGS = frozenset(
    {
        "game_type",
        "width",
        "height",
        "num_apples",
        "max_rounds",
        "apple_target",
        "double_death",
        "invalid_move_policy",
    }
)


def create_game(
    *,
    seed: int,
    players: Sequence[str] = (),
    game_id: str | None = None,
    batch_id: str | None = None,
    prompt_variant: str | None = None,
    **settings: Any,
) -> Game:
    """A ``queued`` game with its line-up: ``players[i]`` (a model name) plays slot ``i``.

    ``settings`` are further :class:`Game` columns (width, height, num_apples, max_rounds,
    apple_target, double_death, invalid_move_policy, game_type). The line-up is stored as
    participant rows so a worker needs nothing but the game id; each row holds the
    prompt variant its model is prompted with (``prompt_variant`` for every model, else
    each one's own: :func:`snakebench.store.prompt_queries.lineup_prompt_variant`).
    """
    bad = set(settings) - _GAME_SETTINGS
    if bad:
        raise ValueError(f"unknown game settings: {', '.join(sorted(bad))}")
    models = [get_model(name) for name in players]
    with transaction(immediate=True):
        game = Game.create(
            id=game_id or new_id(), seed=seed, batch=batch_id, status="queued", **settings
        )
        for slot, model in enumerate(models):
            variant = lineup_prompt_variant(model, prompt_variant)
            Participant.create(game=game.id, model=model.id, slot=slot, prompt_variant=variant)
        if batch_id is not None:
            move_batch_counter(batch_id, None, "queued")
    return game


def get_game(game_id: str) -> Game:
    """The game ``game_id``, or :class:`UnknownGameError`."""
    game: Game = Game.get_or_raise(game_id, UnknownGameError(f"unknown game {game_id!r}"))
    return game


def get_game_and_batch(game_id: str) -> Game:
    """The game ``game_id`` with its batch read in the same query: ``game.batch`` costs
    no second one (None outside a batch). :class:`UnknownGameError` if absent."""
    game: Game | None = (
        Game.select(Game, Batch)
        .join(Batch, pw.JOIN.LEFT_OUTER)
        .where(Game.id == game_id)
        .get_or_none()
    )
    if game is None:
        raise UnknownGameError(f"unknown game {game_id!r}")
    return game


def game_participants(game_id: str) -> list[Participant]:
    """The game's participants by slot, each with its model loaded (one query)."""
    query = (
        Participant.select(Participant, Model)
        .join(Model)
        .where(Participant.game == game_id)
        .order_by(Participant.slot)
    )
    return list(query)


# --- the game life cycle ------------------------------------------------------------


def mark_running(game_id: str, worker: str, seen: Game | None = None) -> Game:
    """Claim a queued game for ``worker``; a running one (a crashed job retried) is
    re-claimed. A game already final raises :class:`GameStateError`.

    Each claim takes the next fencing token (``Game.attempt``, returned on the game):
    the run holds it, :func:`run_is_current` tells the run whether it still counts, and
    :func:`complete_game` records only the run whose token is the game's. A run that a
    later claim or :func:`supersede_runs` has overtaken is stale: it stops before its
    next provider call, and its result is refused.

    ``seen``: the game as the caller read it: its status is tried first (one UPDATE,
    not two, when it still holds). The returned game is the row as this UPDATE left it
    (``RETURNING``), so its token is this claim's even if another claim follows at once.
    """
    with transaction(immediate=True):
        old, game = _transition(
            game_id,
            _seen_first(("queued", "running"), seen),
            "running",
            started_at=utcnow(),
            worker=worker,
            attempt=Game.attempt + 1,
        )
        if old == "queued" and game.batch_id is not None:
            move_batch_counter(game.batch_id, "queued", "running")
    return game


def _seen_first(sources: Sequence[str], seen: Game | None) -> tuple[str, ...]:
    if seen is None or seen.status not in sources:
        return tuple(sources)
    return (seen.status, *(source for source in sources if source != seen.status))


def supersede_runs(game_ids: Sequence[str]) -> None:
    """Make the run of each of these games that is ``running`` stale (the next token),
    as their jobs are enqueued again: a run still going somewhere (its worker cut off,
    not dead) stops at its next round rather than playing on beside the new one. A
    queued game has no run to stop (its next start takes a new token anyway)."""
    for start in range(0, len(game_ids), 500):
        chunk = list(game_ids[start : start + 500])
        Game.update(attempt=Game.attempt + 1).where(
            Game.id.in_(chunk) & (Game.status == "running")
        ).execute()


def run_is_current(game_id: str, attempt: int) -> bool:
    """Whether the run holding token ``attempt`` is still the game's run."""
    return bool(Game.select(Game.id).where(current_run(game_id, attempt)).exists())


def current_run(game_id: str, attempt: int) -> Any:
    """The WHERE clause on games: the run holding ``attempt`` is still the game's run
    (the game running, its token this one)."""
    return (Game.id == game_id) & (Game.attempt == attempt) & (Game.status == "running")


def cancel_game(game_id: str) -> bool:
    """Cancel a queued or running game; False when it had already ended."""
    with transaction(immediate=True):
        try:
            old, game = _transition(game_id, ("queued", "running"), "cancelled", ended_at=utcnow())
        except GameStateError:
            return False
        if game.batch_id is not None:
            move_batch_counter(game.batch_id, old, "cancelled")
    return True


def complete_game(game_id: str, **end: Any) -> Game:
    """Record a game's end in ONE transaction: game row, participants, counters, rating.

    Takes :func:`record_game_end`'s arguments: ``rounds``, ``replay_path``,
    ``total_cost``, ``participants`` (one mapping per slot: ``slot``, optionally
    ``model``, a name, required for a slot the game was created without, and any of
    :data:`PARTICIPANT_STATS`), ``status`` (``completed`` by default), ``error`` and
    ``attempt``. Only ``completed`` games count towards models' wins, losses, ties,
    apples and games played, and update their TrueSkill ratings; ``void``, ``failed``
    and ``cancelled`` (a spending cap stopped it) games are kept for the record and
    touch no model. A game already final raises :class:`GameStateError`, so a result is
    never recorded twice; so does a stale run's result (``attempt``, its token, no
    longer the game's: another run has the game).
    """
    game, _ = record_game_end(game_id, **end)
    return game


def record_game_end(
    game_id: str,
    *,
    rounds: int,
    replay_path: str | None,
    total_cost: float,
    participants: Sequence[Mapping[str, Any]],
    status: str = "completed",
    error: str | None = None,
    attempt: int | None = None,
    lineup: Sequence[Participant] | None = None,
) -> tuple[Game, list[Participant]]:
    """:func:`complete_game`, returning the game and its participants as recorded
    (by slot, models loaded) without reading them back. ``lineup``: the game's
    participants as :func:`game_participants` read them, when the caller has them
    (a run does), so they are not read again.

    What a game's end costs: the game's UPDATE (``RETURNING`` the row), the
    participants' one INSERT ... ON CONFLICT, and for a completed game the models'
    locked read, the rating sequence, one UPDATE per model (counters and rating
    together), the rating changes' one INSERT; then the batch's one UPDATE."""
    if status not in RESULT_STATUSES:
        raise ValueError(f"status must be one of {', '.join(RESULT_STATUSES)}, not {status!r}")
    _check_participants(participants)
    ended_at = utcnow()
    with transaction(immediate=True):
        old, game = _transition(
            game_id,
            ("running", "queued"),
            status,
            fence=None if attempt is None else Game.attempt == attempt,
            rounds=rounds,
            replay_path=replay_path,
            total_cost=total_cost,
            error=error,
            ended_at=ended_at,
        )
        saved = _write_participants(game_id, participants, lineup)
        if status == "completed":
            _count_results(game_id, saved, ended_at)
        if game.batch_id is not None:
            move_batch_counter(game.batch_id, old, status, cost=total_cost)
    return game, saved


def save_participants(game_id: str, participants: Sequence[Mapping[str, Any]]) -> list[Participant]:
    """Write each slot's results: update the slot's row, or insert it if the game has none.

    Saving the same results twice leaves one row per slot (``UNIQUE (game_id, slot)``).
    """
    _check_participants(participants)
    with transaction(immediate=True):
        _write_participants(game_id, participants)
        return game_participants(game_id)


def _write_participants(
    game_id: str,
    participants: Sequence[Mapping[str, Any]],
    lineup: Sequence[Participant] | None = None,
) -> list[Participant]:
    """:func:`save_participants` for rows already checked, in one INSERT ... ON CONFLICT
    (UPDATE) per set of columns given (one for a game's end); returns the game's
    participants by slot as written (new rows without their ids)."""
    existing = {p.slot: p for p in (game_participants(game_id) if lineup is None else lineup)}
    written = dict(existing)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in participants:
        slot = int(row["slot"])
        stats = {key: value for key, value in row.items() if key in PARTICIPANT_STATS}
        model = _slot_model(game_id, existing.get(slot), row)
        if slot in existing and not stats:
            continue
        written[slot] = _with_stats(existing.get(slot), game_id, model, slot, stats)
        values = {"game": game_id, "model": model.id, "slot": slot, **stats}
        groups.setdefault(tuple(sorted(stats)), []).append(values)
    for columns, rows in groups.items():
        update = [Participant._meta.fields[name] for name in columns]
        query = Participant.insert_many(rows)
        if update:
            query = query.on_conflict(
                conflict_target=[Participant.game, Participant.slot], preserve=update
            )
        query.execute()
    return [written[slot] for slot in sorted(written)]


def _slot_model(game_id: str, existing: Participant | None, row: Mapping[str, Any]) -> Model:
    """The model of the row's slot: the existing row's (a different ``model`` given is
    an error), or for a new slot the one the row names."""
    if existing is None:
        if "model" not in row:
            raise ValueError(f"slot {row['slot']} of game {game_id} has no model")
        return get_model(str(row["model"]))
    if "model" in row and row["model"] != existing.model.name:
        raise ValueError(
            f"slot {row['slot']} of game {game_id} is {existing.model.name!r}, not {row['model']!r}"
        )
    model: Model = existing.model
    return model


def _with_stats(
    existing: Participant | None, game_id: str, model: Model, slot: int, stats: Mapping[str, Any]
) -> Participant:
    """The participant row as the write leaves it, built in memory."""
    if existing is None:
        return Participant(game=game_id, model=model, slot=slot, **stats)
    row = Participant(**{**existing.__data__, **stats})
    row.model = model
    return row


def _check_participants(participants: Sequence[Mapping[str, Any]]) -> None:
    """Reject malformed rows before anything is written (typos, duplicate slots)."""
    slots: set[int] = set()
    for row in participants:
        unknown = set(row) - PARTICIPANT_STATS - {"slot", "model"}
        if unknown:
            raise ValueError(f"unknown participant fields: {', '.join(sorted(unknown))}")
        if not isinstance(row.get("slot"), int):
            raise ValueError(f"participant without an integer slot: {dict(row)!r}")
        if row["slot"] in slots:
            raise ValueError(f"duplicate participant slot {row['slot']}")
        slots.add(row["slot"])
        if row.get("result") not in (None, *RESULTS):
            raise ValueError(f"participant result must be won|lost|tied, not {row['result']!r}")


def _count_results(game_id: str, saved: Sequence[Participant], played_at: datetime) -> None:
    """Add a completed game to its models' counters and ratings: one atomic UPDATE per
    model, counters and rating together when the game is rated."""
    models = locked_models(p.model_id for p in saved)
    counters = [(p.model_id, _result_counters(p, played_at)) for p in saved]
    if not record_trueskill(game_id, saved, models, played_at, also=dict(counters)):
        for model_id, changes in counters:  # per participant: a model against itself twice
            Model.update(changes).where(Model.id == model_id).execute()


def _result_counters(participant: Participant, played_at: datetime) -> dict[Any, Any]:
    """What one completed game adds to the participant's model (column expressions)."""
    result = participant.result
    return {
        Model.wins: Model.wins + (1 if result == "won" else 0),
        Model.losses: Model.losses + (1 if result == "lost" else 0),
        Model.ties: Model.ties + (1 if result == "tied" else 0),
        Model.apples_eaten: Model.apples_eaten + participant.score,
        Model.games_played: Model.games_played + 1,
        Model.last_played_at: played_at,
        Model.updated_at: utcnow(),
    }


def _transition(
    game_id: str, sources: Sequence[str], target: str, fence: Any = None, **fields: Any
) -> tuple[str, Game]:
    """Move the game from the first of ``sources`` it is in to ``target``; return which,
    and the row as the UPDATE left it (``RETURNING``: no read after).

    Each attempt is ``UPDATE ... WHERE id = ? AND status = ?`` (and ``fence``, a further
    condition, when given): atomic, so of two processes racing for the same change
    exactly one succeeds.
    """
    condition = Game.id == game_id
    if fence is not None:
        condition &= fence
    for source in sources:
        query = Game.update(status=target, **fields).where(condition & (Game.status == source))
        rows = list(query.returning(Game).execute())
        if rows:
            return source, rows[0]
    game = get_game(game_id)  # raises UnknownGameError if absent
    if fence is not None and game.status in sources:
        raise GameStateError(f"game {game_id} has a newer run (attempt {game.attempt})")
    raise GameStateError(f"game {game_id} is {game.status}; it cannot become {target}")


def move_batch_counter(
    batch_id: str, old: str | None, new: str, cost: float = 0.0, *, count: int = 1
) -> None:
    """``count`` games of the batch left status ``old`` (None: they are new) for ``new``.

    When that leaves no game of the batch to play, the batch becomes ``finished``, in
    the same UPDATE (a ``CASE`` on the counters as they were, plus this move: whichever
    game ends last flips it, exactly once).
    """
    changes: dict[pw.Field[Any], Any] = {}
    if old is not None:
        field = Batch._meta.fields[old]
        changes[field] = field - count
    field = Batch._meta.fields[new]
    changes[field] = field + count
    if cost:
        changes[Batch.total_cost] = Batch.total_cost + cost
    if new in FINAL_GAME_STATUSES:
        ended = count - (count if old in FINAL_GAME_STATUSES else 0)
        done = Batch.completed + Batch.failed + Batch.void + Batch.cancelled + ended
        last = (Batch.status == "active") & (Batch.total_games > 0) & (done >= Batch.total_games)
        changes[Batch.status] = pw.Case(None, ((last, "finished"),), Batch.status)
    Batch.update(changes).where(Batch.id == batch_id).execute()
