"""TrueSkill in the database: one update per completed game, and a rebuild from scratch.

:func:`record_trueskill` runs inside :func:`snakebench.store.complete_game`'s
transaction, so a game's result and its rating update commit together or not at all.
Many workers finish games at once; each update reads the two models' ratings and
writes new ones, so the read must hold a lock until commit or one update overwrites
another: PostgreSQL takes the rows ``FOR UPDATE`` (in id order, so two games of the
same pair cannot deadlock), and SQLite's ``BEGIN IMMEDIATE`` already serialises writers.

A game counts towards ratings ("rated") when it completed and was not undone
(:func:`snakebench.store.counted.counted`), none of its models is retired and it is
not a model against itself: :func:`rated_game_ids` is the one
definition, shared by the rebuild, Bradley-Terry, the leaderboard and every model's
record (:func:`snakebench.store.record_queries.model_records`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.ratings.trueskill_rating import Skill, rate_match
from snakebench.store.counted import counted
from snakebench.store.db import is_postgres, transaction
from snakebench.store.models import Game, Model, Participant, RatingChange, utcnow

RETIRED = "retired"


@dataclass(frozen=True)
class RebuildReport:
    """What :func:`rebuild_trueskill` did: games replayed, models touched, and the
    largest difference between the stored and the rebuilt mu or sigma."""

    games: int
    models: int
    max_difference: float
    written: bool


def record_trueskill(
    game_id: str,
    participants: Sequence[Participant],
    models: dict[int, Model],
    at: datetime,
    also: Mapping[int, Mapping[Any, Any]] | None = None,
) -> bool:
    """Apply one completed game's TrueSkill update; False when the game is not rated.

    Call inside the completion transaction with ``models`` from :func:`locked_models`.
    A game with a retired model, or a slot without a result, changes no rating.
    ``also`` holds more column changes per model id (the game's counters), written in
    the same UPDATE as the rating when the game is rated: one statement per model, not
    two (the caller writes them itself when this returns False).
    """
    if len(participants) < 2 or any(p.result is None for p in participants):
        return False
    if len({p.model_id for p in participants}) < len(participants):
        return False  # a model against itself: no information, and no second row to write
    ordered = sorted(participants, key=lambda p: p.slot)
    if any(models[p.model_id].test_status == RETIRED for p in ordered):
        return False
    _assign_rating_seq([game_id])
    before = [_skill_of(models[p.model_id]) for p in ordered]
    after = rate_match(before, [str(p.result) for p in ordered])
    changes = []
    for participant, old, new in zip(ordered, before, after, strict=True):
        _set_skill(participant.model_id, new, (also or {}).get(participant.model_id, {}))
        changes.append(
            {
                "game": game_id,
                "model": participant.model_id,
                "mu_before": old.mu,
                "sigma_before": old.sigma,
                "mu_after": new.mu,
                "sigma_after": new.sigma,
                "created_at": at,
            }
        )
    RatingChange.insert_many(changes).execute()
    return True


def _assign_rating_seq(game_ids: Sequence[str]) -> None:
    """Give games without one the next rating sequence numbers, in the order given.

    Read after the models are locked, so of two games sharing a model the later one
    always gets the higher number; two games sharing none may get the same number,
    and then their order does not change any rating. Each game's number is read and
    written in one statement (``SET rating_seq = MAX + 1``: indexed, no scan).
    """
    latest = Game.alias()
    following = latest.select(pw.fn.COALESCE(pw.fn.MAX(latest.rating_seq), 0) + 1)
    for game_id in game_ids:
        Game.update(rating_seq=following).where(
            (Game.id == game_id) & Game.rating_seq.is_null()
        ).execute()


def locked_models(model_ids: Iterable[int]) -> dict[int, Model]:
    """The models, their rows locked until commit on PostgreSQL (SQLite's immediate
    transaction holds the whole database). Always in id order: two mirrored games of
    the same pair finishing together would otherwise lock x then y and y then x, and
    deadlock."""
    query = Model.select().where(Model.id.in_(sorted(set(model_ids)))).order_by(Model.id)
    if is_postgres():
        # NO KEY UPDATE: enough against a concurrent rating update, and it does not
        # block inserting participants that reference these rows (KEY SHARE).
        query = query.for_update("FOR NO KEY UPDATE")  # type: ignore[arg-type]  # stubs: bool only
    return {model.id: model for model in query}


def _skill_of(model: Model) -> Skill:
    return Skill(model.trueskill_mu, model.trueskill_sigma)


def _set_skill(model_id: int, skill: Skill, also: Mapping[Any, Any] | None = None) -> None:
    Model.update(
        {
            **(also or {}),
            Model.trueskill_mu: skill.mu,
            Model.trueskill_sigma: skill.sigma,
            Model.trueskill_exposed: skill.exposed,
            Model.elo_rating: skill.display,
            Model.updated_at: utcnow(),
        }
    ).where(Model.id == model_id).execute()


def rated_game_ids(within: pw.ModelSelect[Any] | None = None) -> pw.ModelSelect[Game]:
    """The ids of rated games (completed, not undone, no retired model, two different
    models), for ``IN`` sub-selects; ``within`` (a select of game ids: one model's
    games) keeps the look at the games, and the subqueries, to those instead of the
    whole table."""
    games = Game.select(Game.id).where(
        counted()
        & Game.id.not_in(_games_with_retired_models(within))
        & Game.id.not_in(_self_play_games(within))
    )
    return games if within is None else games.where(Game.id.in_(within))


def _self_play_games(within: pw.ModelSelect[Any] | None) -> pw.ModelSelect[Participant]:
    query = Participant.select(Participant.game)
    if within is not None:
        query = query.where(Participant.game.in_(within))
    return query.group_by(Participant.game).having(
        pw.fn.COUNT(Participant.model.distinct()) < pw.fn.COUNT(Participant.id)
    )


def _games_with_retired_models(within: pw.ModelSelect[Any] | None) -> pw.ModelSelect[Participant]:
    query = Participant.select(Participant.game).join(Model).where(Model.test_status == RETIRED)
    return query if within is None else query.where(Participant.game.in_(within))


def rated_games() -> pw.ModelSelect[Game]:
    """Rated games in the order their ratings were applied (``rating_seq``); games
    never rated yet (completed while unrated) follow by end time."""
    never_rated = pw.Case(None, [(Game.rating_seq.is_null(), 1)], 0)
    return (
        Game.select(Game.id, Game.ended_at, Game.rating_seq)
        .where(Game.id.in_(rated_game_ids()))
        .order_by(never_rated, Game.rating_seq, Game.ended_at, Game.id)
    )


def rebuild_trueskill(*, write: bool = True) -> RebuildReport:
    """Replay every rated game's update from the initial ratings, in the original order.

    With ``write`` the result replaces the stored ratings and rating changes (one
    transaction); without, it only reports how far the stored ratings are from it.
    Either way ``max_difference`` compares against what was stored before.
    """
    with transaction(immediate=write):
        models = _all_models(lock=write)
        skills, changes, games = _replay(models)
        difference = max(
            (_distance(models[model_id], skill) for model_id, skill in skills.items()),
            default=0.0,
        )
        if write:
            _assign_rating_seq([game.id for game in games if game.rating_seq is None])
            _replace_ratings(skills, changes)
    rated = len({row["game"] for row in changes})
    return RebuildReport(games=rated, models=len(models), max_difference=difference, written=write)


def replay_trueskill(excluding: Collection[str] = ()) -> dict[int, Skill]:
    """Each model's TrueSkill (by model id) as :func:`rebuild_trueskill` would rebuild
    it were the games ``excluding`` not rated; reads only (a dry run's answer)."""
    with transaction():
        skills, _, _ = _replay(_all_models(lock=False), excluding)
    return skills


def _replay(
    models: dict[int, Model], excluding: Collection[str] = ()
) -> tuple[dict[int, Skill], list[dict[str, object]], list[Game]]:
    """Every rated game's update (but those ``excluding``) from the initial ratings,
    in the original order: the ratings, the rating-change rows, the games replayed."""
    skills: dict[int, Skill] = {model_id: Skill() for model_id in models}
    changes: list[dict[str, object]] = []
    games: list[Game] = [game for game in rated_games() if game.id not in excluding]
    lineups = _lineups([game.id for game in games])
    for game in games:
        lineup = lineups.get(game.id, [])
        if len(lineup) < 2 or any(result is None for _, result in lineup):
            continue
        before = [skills[model_id] for model_id, _ in lineup]
        after = rate_match(before, [str(result) for _, result in lineup])
        for (model_id, _), old, new in zip(lineup, before, after, strict=True):
            skills[model_id] = new
            changes.append(_change_row(game, model_id, old, new))
    return skills, changes, games


def _all_models(*, lock: bool) -> dict[int, Model]:
    """Every model; locked (in id order) only when the caller will write ratings, so a
    ``--check`` does not hold up the workers' completions."""
    if lock:
        return locked_models(model.id for model in Model.select(Model.id))
    return {model.id: model for model in Model.select()}


def _lineups(game_ids: Sequence[str]) -> dict[str, list[tuple[int, str | None]]]:
    """Each game's (model id, result) by slot, in as few queries as the ids need."""
    lineups: dict[str, list[tuple[int, str | None]]] = {}
    for start in range(0, len(game_ids), 500):
        chunk = game_ids[start : start + 500]
        query: Any = (  # Any: peewee's stubs type .tuples() rows as model instances
            Participant.select(Participant.game, Participant.model, Participant.result)
            .where(Participant.game.in_(chunk))
            .order_by(Participant.game, Participant.slot)
        )
        for game_id, model_id, result in query.tuples():
            lineups.setdefault(game_id, []).append((model_id, result))
    return lineups


def _change_row(game: Game, model_id: int, old: Skill, new: Skill) -> dict[str, object]:
    return {
        "game": game.id,
        "model": model_id,
        "mu_before": old.mu,
        "sigma_before": old.sigma,
        "mu_after": new.mu,
        "sigma_after": new.sigma,
        "created_at": game.ended_at or utcnow(),
    }


def _distance(model: Model, skill: Skill) -> float:
    return max(abs(model.trueskill_mu - skill.mu), abs(model.trueskill_sigma - skill.sigma))


def _replace_ratings(skills: dict[int, Skill], changes: list[dict[str, object]]) -> None:
    RatingChange.delete().execute()
    for start in range(0, len(changes), 500):
        RatingChange.insert_many(changes[start : start + 500]).execute()
    for model_id, skill in skills.items():
        _set_skill(model_id, skill)


def retire_model(model: Model) -> RebuildReport:
    """Exclude every result of ``model`` from the ratings (the original's undo tools):
    it stops playing, and the ratings are rebuilt without its games, in one transaction.
    """
    with transaction(immediate=True):
        _all_models(lock=True)  # first, in id order, as completions lock: no deadlock
        Model.update(test_status=RETIRED, is_active=False, updated_at=utcnow()).where(
            Model.id == model.id
        ).execute()
        return rebuild_trueskill()


def unretire_model(model: Model) -> RebuildReport:
    """Undo :func:`retire_model`: the model plays again and its games count again."""
    played = (
        Participant.select().join(Game).where((Participant.model == model.id) & counted()).exists()
    )
    with transaction(immediate=True):
        _all_models(lock=True)
        Model.update(
            test_status="ranked" if played else "untested", is_active=True, updated_at=utcnow()
        ).where(Model.id == model.id).execute()
        return rebuild_trueskill()
