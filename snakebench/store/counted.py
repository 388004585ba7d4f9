"""Which games count: the one filter every count, record and rating reads games by.

A game counts once it has ``completed`` and as long as it is not undone
(``snakebench games undo``: ``Game.undone_at`` set). An undone game stays stored and
listed, marked; nothing adds it up. :func:`snakebench.store.rating_queries.rated_game_ids`
(ratings, records, leaderboards), a model's return from retirement, the placement
ladder's tally and tactics, a tournament's report and the original's API (its game
lists, top scores, a model's games) all build on these two expressions.
"""

from __future__ import annotations

from typing import Any

from snakebench.store.models import Game


def not_undone() -> Any:
    """The WHERE clause: the game is not undone (queued and running ones never are)."""
    return Game.undone_at.is_null()


def counted() -> Any:
    """The WHERE clause: the game completed and is not undone."""
    return (Game.status == "completed") & not_undone()
