"""The fan pages' numbers: site-wide totals, and a model's games seen from its side."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from snakebench.services import highlights
from snakebench.web.data.common import iso, with_store


@with_store
def site_totals() -> dict[str, Any]:
    """Completed games, the models that played them, the top score and the game it was
    scored in (``top_game_id``), and what every game has cost (void and failed too)."""
    return asdict(highlights.site_totals())


@with_store
def model_games(name: str, limit: int) -> list[dict[str, Any]]:
    """The model's newest ``limit`` games: its score, result, death and cost, the
    opponent with its score and its rank at the time, rounds and wall time."""
    rows = []
    for ranked in highlights.model_games_with_ranks(name, limit):
        g = ranked.game
        wall = None
        if g.started_at is not None and g.ended_at is not None:
            wall = max(0.0, (g.ended_at - g.started_at).total_seconds())
        rows.append(
            {
                "game_id": g.game_id,
                "status": g.status,
                "created_at": iso(g.created_at),
                "started_at": iso(g.started_at),
                "ended_at": iso(g.ended_at),
                "wall_seconds": wall,
                "rounds": g.rounds,
                "max_rounds": g.max_rounds,
                "slot": g.slot,
                "score": g.score,
                "result": g.result,
                "death_reason": g.death_reason,
                "death_round": g.death_round,
                "cost": g.cost,
                "opponent": g.opponent,
                "opponent_score": g.opponent_score,
                "opponent_rank": ranked.opponent_rank,
            }
        )
    return rows
