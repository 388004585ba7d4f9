"""The reads behind the original SnakeBench's API (:mod:`snakebench.web.original_api`)
that no other view needs: completed games sorted the original's ways with their
combined score, the top-apples game, each model's top score and spending, and one
model's games with its opponent's rating.

A game's "total score" is the original's ``games.total_score``: the apples both
snakes ate, the sum of its participants' scores. Only completed games with a replay
are listed, as the original lists only games whose replay it can link, and none that
was undone (:mod:`snakebench.store.counted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import rows_of
from snakebench.store.counted import counted
from snakebench.store.models import Game, Model, Participant

# sort_by values and their order, as the original's ``get_games`` takes them.
GAME_SORTS = ("start_time", "total_score", "rounds")


def _total_score() -> Any:
    """SQL: a game's combined score, a subquery so it can be selected and sorted by."""
    return Participant.select(pw.fn.COALESCE(pw.fn.SUM(Participant.score), 0)).where(
        Participant.game == Game.id
    )


def _listed() -> Any:
    """Games the original would list: completed and not undone, with a replay."""
    return counted() & Game.replay_path.is_null(False)


def _started() -> Any:
    return pw.fn.COALESCE(Game.started_at, Game.created_at)


def sorted_games(sort_by: str, limit: int, offset: int) -> list[tuple[Game, int]]:
    """Listed games with their total score: newest start first (``start_time``), or
    the highest ``total_score`` or most ``rounds`` first (newest first among equals)."""
    if sort_by not in GAME_SORTS:
        raise ValueError(f"sort_by must be one of {', '.join(GAME_SORTS)}")
    keys = {
        "start_time": [_started().desc()],
        "total_score": [pw.Ordering(_total_score(), "DESC"), _started().desc()],
        "rounds": [Game.rounds.desc(), _started().desc()],
    }[sort_by]
    query = (
        Game.select(Game, _total_score().alias("total_score"))
        .where(_listed())
        .order_by(*keys, Game.id)
        .limit(limit)
        .offset(offset)
    )
    return [(game, int(getattr(game, "total_score", 0) or 0)) for game in query]


def top_apples_game() -> tuple[Game, int] | None:
    """The listed game with the most apples eaten by both snakes together (the
    newest such game on a tie), with that total; None without any."""
    found = sorted_games("total_score", 1, 0)
    return found[0] if found else None


def listed_game_count() -> int:
    """How many games the original's lists can show (its ``totalGames``)."""
    count: int = Game.select().where(_listed()).count()
    return count


@dataclass(frozen=True)
class ModelTotals:
    """A model's best single-game score (completed games) and everything it spent."""

    top_score: int = 0
    total_cost: float = 0.0


def model_totals() -> dict[str, ModelTotals]:
    """Each model's :class:`ModelTotals` by name, in one query (a model that never
    played is absent)."""
    completed_score = pw.Case(None, [(counted(), Participant.score)], None)
    query = (
        Participant.select(Model.name, pw.fn.MAX(completed_score), pw.fn.SUM(Participant.cost))
        .join(Model)
        .switch(Participant)
        .join(Game)
        .group_by(Model.name)
    )
    return {
        name: ModelTotals(int(top or 0), float(cost or 0.0)) for name, top, cost in rows_of(query)
    }


@dataclass(frozen=True)
class ModelGameRow:
    """One completed game of a model, seen from its side."""

    game_id: str
    started_at: datetime | None
    ended_at: datetime | None
    score: int
    result: str | None
    cost: float
    death_round: int | None
    death_reason: str | None
    opponent: str
    opponent_score: int
    opponent_elo: float


def model_game_rows(model_id: int, limit: int) -> list[ModelGameRow]:
    """The model's newest ``limit`` completed games against another participant, with
    the opponent's name, score and current rating (the original's ``opponent_elo``)."""
    Opponent = Participant.alias()
    OpponentModel = Model.alias()
    query = (
        Participant.select(
            Game.id,
            Game.started_at,
            Game.ended_at,
            Participant.score,
            Participant.result,
            Participant.cost,
            Participant.death_round,
            Participant.death_reason,
            OpponentModel.name,
            Opponent.score,
            OpponentModel.elo_rating,
        )
        .join(Game)
        .join(Opponent, on=(Opponent.game == Game.id) & (Opponent.slot != Participant.slot))
        .join(OpponentModel, on=Opponent.model_id == OpponentModel.id)
        .where((Participant.model == model_id) & counted())
        .order_by(_started().desc(), Game.id)
        .limit(limit)
    )
    return [ModelGameRow(*row) for row in rows_of(query)]
