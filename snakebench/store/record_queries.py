"""A model's record: the one definition of its games, wins, losses, ties and apples.

The leaderboard (CLI and web), the model page, the JSON API and ``snakebench models``
all read :func:`model_records`, so a model shows the same record wherever it is shown,
and that record is over the same games its rating is computed from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import peewee as pw

from snakebench.store.batch_queries import participant_sums, result_counts, rows_of
from snakebench.store.models import Model, Participant
from snakebench.store.rating_queries import rated_game_ids


@dataclass(frozen=True)
class ModelRecord:
    """A model's totals over its rated games (all zero: none yet)."""

    games: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    apples: int = 0
    invalid_moves: int = 0
    fallback_parses: int = 0
    moves: int = 0
    cost: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counters(self) -> dict[str, int]:
        """The record under the names of the original's model columns (``wins``,
        ``losses``, ``ties``, ``apples_eaten``, ``games_played``)."""
        return {
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "apples_eaten": self.apples,
            "games_played": self.games,
        }


def model_records(
    names: Iterable[str] | None = None, *, prompt_variant: str | None = None
) -> dict[str, ModelRecord]:
    """Each model's record by name (only ``names`` when given), in one aggregate query;
    a model without rated games is absent (its record is ``ModelRecord()``). With
    ``prompt_variant``, only the games in which the model was prompted with that
    variant count (an experiment's view; a bot, never prompted, has none).

    A model's record counts its rated games, and only those
    (:func:`snakebench.store.rating_queries.rated_game_ids`): completed games between
    two different models, none of them retired. These are exactly the games its
    TrueSkill and Bradley-Terry ratings are computed from, so the record and the
    rating beside it always describe the same games. So:

    - void, failed, cancelled (and queued or running) games are not in it: nothing was
      decided, or not by the two players, and no such game is ever rated;
    - a game against a retired model leaves the record of both players when the model
      is retired (as it leaves their ratings), and comes back if it is restored; a
      retired model's record is therefore empty, though its games stay stored and
      listed;
    - a model against itself has no opponent to win or lose against: not counted.

    The models' stored counters (``Model.wins``, ``games_played``...) count every
    completed game as it ended and are never rebuilt; they are not a record.
    """
    # Named models: only their games are looked at (a model page reads one record).
    theirs = None
    if names is not None:
        named = Model.name.in_(list(names))
        theirs = Participant.select(Participant.game).join(Model).where(named)
    query = (
        Participant.select(
            Model.name,
            pw.fn.COUNT(Participant.id),
            *result_counts("won", "lost", "tied"),
            *participant_sums("score", "invalid_moves", "fallback_parses", "moves", "cost"),
        )
        .join(Model)
        .where(Participant.game.in_(rated_game_ids(theirs)))
        .group_by(Model.name)
    )
    if names is not None:
        query = query.where(named)
    if prompt_variant is not None:
        query = query.where(Participant.prompt_variant == prompt_variant)
    records: dict[str, ModelRecord] = {}
    for name, *counts, cost in rows_of(query):
        games, wins, losses, ties, apples, invalid, fallback, moves = (int(c or 0) for c in counts)
        records[name] = ModelRecord(
            games, wins, losses, ties, apples, invalid, fallback, moves, float(cost or 0.0)
        )
    return records


def model_record(name: str) -> ModelRecord:
    """The record of the model ``name`` (:func:`model_records` says what it counts)."""
    return model_records([name]).get(name, ModelRecord())
