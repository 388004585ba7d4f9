"""One model: settings, record, rating history, newest games."""

from __future__ import annotations

from typing import Any

import peewee as pw

from snakebench.store import (
    Game,
    Model,
    Participant,
    RatingChange,
    get_model,
    participant_sums,
    result_counts,
)
from snakebench.web.data.common import (
    RECENT_GAMES,
    iso,
    with_store,
)
from snakebench.web.data.games import summaries


@with_store
def model_detail(name: str) -> dict[str, Any]:
    """One model: its settings and rating, its record over completed games, its
    TrueSkill history (one point per rated game, in rating order) and its newest games."""
    model = get_model(name)
    return {
        "model": _model_dict(model),
        "record": _record(model.id),
        "rating_history": _rating_history(model.id),
        "recent_games": _recent_games(model.id),
    }


def _model_dict(model: Model) -> dict[str, Any]:
    return {
        "name": model.name,
        "provider": model.provider,
        "model_slug": model.model_slug,
        "test_status": model.test_status,
        "status": model.standing,
        "is_active": bool(model.is_active),
        "trueskill_mu": model.trueskill_mu,
        "trueskill_sigma": model.trueskill_sigma,
        "rating": model.trueskill_mu - 3 * model.trueskill_sigma,
        "price_input_per_m": model.price_input_per_m,
        "price_output_per_m": model.price_output_per_m,
    }


def _record(model_id: int) -> dict[str, Any]:
    """Totals over the model's completed games, in one aggregate query."""
    query: Any = (
        Participant.select(
            pw.fn.COUNT(Participant.id),
            *result_counts("won", "lost", "tied"),
            *participant_sums("score", "invalid_moves", "fallback_parses", "moves", "cost"),
        )
        .join(Game)
        .where((Participant.model == model_id) & (Game.status == "completed"))
    )
    *counts, cost = query.tuples()[0]
    names = ("games", "wins", "losses", "ties", "apples", "invalid_moves", "fallback_parses")
    record: dict[str, Any] = {
        name: int(value or 0) for name, value in zip(names, counts[:7], strict=True)
    }
    record["moves"] = int(counts[7] or 0)
    record["cost"] = float(cost or 0.0)
    return record


def _rating_history(model_id: int) -> list[dict[str, Any]]:
    query: Any = (
        RatingChange.select(
            RatingChange.game, Game.ended_at, RatingChange.mu_after, RatingChange.sigma_after
        )
        .join(Game)
        .where(RatingChange.model == model_id)
        .order_by(Game.rating_seq, Game.ended_at, Game.id)
    )
    return [
        {"game_id": game_id, "at": iso(at), "mu": mu, "sigma": sigma, "rating": mu - 3 * sigma}
        for game_id, at, mu, sigma in query.tuples()
    ]


def _recent_games(model_id: int) -> list[dict[str, Any]]:
    played = Participant.select(Participant.game).where(Participant.model == model_id)
    query = (
        Game.select()
        .where(Game.id.in_(played))
        .order_by(Game.created_at.desc(), Game.id.desc())
        .limit(RECENT_GAMES)
    )
    return summaries(list(query))
