"""One model: settings, record, rating history, newest games."""

from __future__ import annotations

from typing import Any

from snakebench.store import (
    Model,
    get_model,
    model_record,
    rating_history,
    recent_games_of,
)
from snakebench.web.data.common import (
    RECENT_GAMES,
    iso,
    with_store,
)
from snakebench.web.data.games import summaries
from snakebench.web.data.highlights import model_games


@with_store
def model_detail(name: str) -> dict[str, Any]:
    """One model: its settings and rating, its record (over its rated games, the one
    definition the leaderboard shares: :func:`snakebench.store.model_records`), its
    TrueSkill history (one point per rated game, in rating order) and its newest games
    (all of them, rated or not), in short (``recent_games``) and from its side with the
    opponent's rank at the time (``games``, the same games)."""
    model = get_model(name)
    return {
        "model": _model_dict(model),
        "record": model_record(model.name).to_dict(),
        "rating_history": _rating_history(model.id),
        "recent_games": summaries(recent_games_of(model.id, RECENT_GAMES)),
        "games": model_games(model.name, RECENT_GAMES),
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


def _rating_history(model_id: int) -> list[dict[str, Any]]:
    return [
        {"game_id": game_id, "at": iso(at), "mu": mu, "sigma": sigma, "rating": mu - 3 * sigma}
        for game_id, at, mu, sigma in rating_history(model_id)
    ]
