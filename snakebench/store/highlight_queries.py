"""The fan pages' reads: site-wide totals, a model's games with its opponents, the
rating timeline (who stood where when), and the games a report ranks.

Each returns plain rows; the arithmetic (ranks at a time, the report's orderings)
stays in :mod:`snakebench.services.highlights` and :mod:`snakebench.services.game_report`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import peewee as pw

from snakebench.store.batch_queries import rows_of
from snakebench.store.counted import counted
from snakebench.store.models import Game, Model, Participant, RatingChange
from snakebench.store.original_queries import top_apples_game


@dataclass(frozen=True)
class SiteTotals:
    """The site in four numbers, and its top-apples match (None: no such game)."""

    games: int  # completed games, undone ones left out (store.counted)
    models: int  # models that played such a game
    top_score: int  # the most apples one snake ate in such a game
    total_cost: float  # what every game has cost, void and failed ones included
    top_game_id: str | None  # the top-apples match: the original's (most apples in all)
    top_game_apples: int  # the apples both snakes ate in it


def site_totals() -> SiteTotals:
    """:class:`SiteTotals`, in a few small aggregate queries. The top-apples match is
    the original API's (:func:`snakebench.store.original_queries.top_apples_game`)."""
    completed = counted()
    games = Game.select().where(completed).count()
    models = (
        Participant.select(pw.fn.COUNT(Participant.model.distinct())).join(Game).where(completed)
    )
    top_score = Participant.select(pw.fn.MAX(Participant.score)).join(Game).where(completed)
    cost = Game.select(pw.fn.SUM(Game.total_cost))
    top = top_apples_game()
    return SiteTotals(
        games=games,
        models=int(rows_of(models)[0][0] or 0),
        top_score=int(rows_of(top_score)[0][0] or 0),
        total_cost=float(rows_of(cost)[0][0] or 0.0),
        top_game_id=top[0].id if top else None,
        top_game_apples=top[1] if top else 0,
    )


@dataclass(frozen=True)
class ModelGame:
    """One game of a model, seen from its side: its own result and the opponent's."""

    game_id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    rounds: int
    max_rounds: int
    slot: int
    score: int
    result: str | None
    death_reason: str | None
    death_round: int | None
    cost: float
    opponent: str | None  # None: no other player (a game against itself counts as one)
    opponent_id: int | None
    opponent_score: int | None


def model_games(model_id: int, limit: int) -> list[ModelGame]:
    """The newest ``limit`` games of the model, whatever became of them, newest first,
    each with the opponent (the other slot's model), in one query."""
    other = Participant.alias("other")
    opponent = Model.alias("opponent")
    query = (
        Participant.select(
            Game.id, Game.status, Game.created_at, Game.started_at, Game.ended_at, Game.rounds,
            Game.max_rounds, Participant.slot, Participant.score, Participant.result,
            Participant.death_reason, Participant.death_round, Participant.cost,
            opponent.name, opponent.id, other.score,
        )
        .join(Game)
        .switch(Participant)
        .join(other, pw.JOIN.LEFT_OUTER,
              on=(other.game == Participant.game) & (other.slot != Participant.slot))
        # other.model_id, not other.model: on an alias, .model is the aliased class
        .join(opponent, pw.JOIN.LEFT_OUTER, on=(opponent.id == other.model_id))
        .where(Participant.model == model_id)
        .order_by(Game.created_at.desc(), Game.id.desc(), Participant.slot)
        .limit(limit)
    )  # fmt: skip
    return [ModelGame(*row) for row in rows_of(query)]


def rating_timeline() -> list[tuple[str, int, float, float]]:
    """Every rating change in the order ratings were applied, as (game id, model id,
    mu after, sigma after): walked in order, it gives everyone's rating at any game."""
    query = (
        RatingChange.select(
            RatingChange.game, RatingChange.model, RatingChange.mu_after, RatingChange.sigma_after
        )
        .join(Game)
        .order_by(Game.rating_seq, Game.ended_at, Game.id, RatingChange.model)
    )
    return [(game_id, model_id, mu, sigma) for game_id, model_id, mu, sigma in rows_of(query)]


@dataclass(frozen=True)
class ReportPlayer:
    slot: int
    model: str
    score: int
    result: str | None


@dataclass(frozen=True)
class ReportGame:
    """A completed game as a report ranks it."""

    game_id: str
    started_at: datetime | None
    ended_at: datetime | None
    rounds: int
    max_rounds: int
    total_cost: float
    players: tuple[ReportPlayer, ...]


def completed_games_since(since: datetime | None) -> list[ReportGame]:
    """Every counted game (completed, not undone) started at or after ``since`` (all
    of them: None), oldest first, with its players by slot, in one query."""
    condition = counted()
    if since is not None:
        condition &= Game.started_at >= since
    query = (
        Game.select(
            Game.id, Game.started_at, Game.ended_at, Game.rounds, Game.max_rounds,
            Game.total_cost, Participant.slot, Model.name, Participant.score, Participant.result,
        )
        .join(Participant, on=(Participant.game == Game.id))
        .join(Model, on=(Model.id == Participant.model))
        .where(condition)
        .order_by(Game.started_at, Game.id, Participant.slot)
    )  # fmt: skip
    games: dict[str, ReportGame] = {}
    for game_id, started, ended, rounds, max_rounds, cost, *player in rows_of(query):
        found = games.get(game_id)
        if found is None:
            found = ReportGame(game_id, started, ended, rounds, max_rounds, cost or 0.0, ())
        games[game_id] = replace(found, players=(*found.players, ReportPlayer(*player)))
    return list(games.values())
