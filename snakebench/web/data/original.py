"""The original SnakeBench backend's JSON shapes, for its own Next.js frontend
(served by :mod:`snakebench.web.original_api`; docs/ORIGINAL_API.md).

Field names, nesting and the meaning of each value are the original's (its
``backend/app.py`` and ``data_access``); the values come from this project's
definitions: a model's wins, losses, ties, apples and games are its record
(:func:`snakebench.store.model_records`, the one the leaderboard shows), its
``elo_rating`` the stored display rating, its TrueSkill from its row. Timestamps are
ISO 8601 with their offset, which the frontend's ``new Date(...)`` reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import redis

from snakebench.engine import Rules
from snakebench.engine.board import render_board
from snakebench.engine.replay import state_from_dict
from snakebench.store import (
    Game,
    Model,
    ModelRecord,
    Participant,
    game_participants,
    get_game,
    get_model,
    lineups,
    list_models,
    model_records,
    running_games,
)
from snakebench.store.original_queries import (
    ModelGameRow,
    ModelTotals,
    listed_game_count,
    model_game_rows,
    model_totals,
    sorted_games,
    top_apples_game,
)
from snakebench.web.data.common import iso, published_boards, with_store
from snakebench.web.data.games import game_replay

MODEL_GAMES = 100  # games in /api/stats?model=, as the original's LIMIT 100
LIVE_LIMIT = 200
# The original's game statuses: "in_progress" while playing; ours keep their names.
STATUS_NAMES = {"running": "in_progress"}


def _exposed(model: Model) -> float:
    return float(model.trueskill_mu - 3 * model.trueskill_sigma)


def _model_row(model: Model, record: ModelRecord) -> dict[str, Any]:
    """One entry of ``models`` (the original's ``get_all_models`` row)."""
    return {
        "id": model.id,
        "name": model.name,
        "provider": model.provider,
        "model_slug": model.model_slug,
        "model_name": model.model_slug,
        "is_active": bool(model.is_active),
        "test_status": model.test_status,
        "elo_rating": model.elo_rating,
        "trueskill_mu": model.trueskill_mu,
        "trueskill_sigma": model.trueskill_sigma,
        "trueskill_exposed": _exposed(model),
        **record.counters(),
        "pricing_input": model.price_input_per_m,
        "pricing_output": model.price_output_per_m,
        "max_completion_tokens": model.max_completion_tokens,
        "last_played_at": iso(model.last_played_at),
        "discovered_at": iso(model.created_at),
    }


def _aggregate(model: Model, record: ModelRecord) -> dict[str, Any]:
    """A model's ``aggregatedData`` entry in /api/models (the original's keys)."""
    return {
        "elo_rating": model.elo_rating,
        **record.counters(),
        "provider": model.provider,
        "test_status": model.test_status,
        "is_active": bool(model.is_active),
    }


@with_store
def models(active_only: bool = False) -> dict[str, Any]:
    """``/api/models``: every model (active ones only, on request), best rated first."""
    chosen = sorted(list_models(active_only), key=lambda m: -m.elo_rating)
    records = model_records([m.name for m in chosen])
    rows = [(m, records.get(m.name, ModelRecord())) for m in chosen]
    return {
        "totalGames": listed_game_count(),
        "models": [_model_row(m, r) for m, r in rows],
        "aggregatedData": {m.name: _aggregate(m, r) for m, r in rows},
    }


@with_store
def model(name: str) -> dict[str, Any]:
    """``/api/models/<name>``; an unknown name raises the store's LookupError."""
    found = get_model(name)
    record = model_records([found.name]).get(found.name, ModelRecord())
    return {
        "totalGames": record.games,
        "model": _model_row(found, record),
        "aggregatedData": {found.name: _aggregate(found, record)},
    }


def _participant(p: Participant) -> dict[str, Any]:
    return {
        "model_name": p.model.name,
        "provider": p.model.provider,
        "player_slot": p.slot,
        "score": p.score,
        "result": p.result,
        "death_round": p.death_round,
        "death_reason": p.death_reason,
    }


def _start(game: Game) -> str | None:
    return iso(game.started_at or game.created_at)


@with_store
def games(
    replay_url: Callable[[str], str], limit: int = 10, offset: int = 0, sort_by: str = "start_time"
) -> dict[str, Any]:
    """``/api/games``: completed games with a replay, sorted by ``sort_by``
    (``start_time``, ``total_score`` or ``rounds``, each highest first); ``replay_url``
    makes each game's replay link (this server's ``/api/matches/<id>``)."""
    found = sorted_games(sort_by, limit, offset)
    by_game = lineups(game.id for game, _ in found)
    return {
        "games": [
            {
                "game_id": game.id,
                "start_time": _start(game),
                "end_time": iso(game.ended_at),
                "rounds": game.rounds,
                "replay_url": replay_url(game.id),
                "board_width": game.width,
                "board_height": game.height,
                "total_score": total,
                "total_cost": game.total_cost,
                "participants": [_participant(p) for p in by_game.get(game.id, [])],
            }
            for game, total in found
        ]
    }


@with_store
def match(match_id: str) -> dict[str, Any]:
    """``/api/matches/<id>``: the replay document, the original's own format."""
    return game_replay(match_id)


@with_store
def top_apples() -> dict[str, Any]:
    """``/api/matches/top-apples``: the game with the most apples eaten in all."""
    found = top_apples_game()
    if found is None:
        raise LookupError("No matches found")
    game, total = found
    return {
        "game_id": game.id,
        "total_apples": total,
        "rounds": game.rounds,
        "start_time": _start(game),
        "end_time": iso(game.ended_at),
        "board_width": game.width,
        "board_height": game.height,
    }


def _ratings(model: Model) -> dict[str, Any]:
    """The rating keys of a stats entry: ``elo`` is what the frontend reads,
    ``elo_rating`` the original kept beside it, the TrueSkill keys its leaderboard's."""
    return {
        "elo": model.elo_rating,
        "elo_rating": model.elo_rating,
        "rating": _exposed(model),
        "trueskill_mu": model.trueskill_mu,
        "trueskill_sigma": model.trueskill_sigma,
        "trueskill_exposed": _exposed(model),
    }


@with_store
def stats(simple: bool = False, model_name: str | None = None) -> dict[str, Any]:
    """``/api/stats?simple=true`` (every model's summary) or ``/api/stats?model=NAME``
    (one model with its newest games); neither raises ValueError, as the original
    answers 400, and an unknown model the store's LookupError."""
    if simple:
        everyone = list_models()
        records = model_records([m.name for m in everyone])
        totals = model_totals()
        return {
            "totalGames": listed_game_count(),
            "aggregatedData": {
                m.name: _simple_entry(
                    m, records.get(m.name, ModelRecord()), totals.get(m.name, ModelTotals())
                )
                for m in everyone
            },
        }
    if model_name is None:
        raise ValueError("Please provide a model parameter for full stats.")
    found = get_model(model_name)
    record = model_records([found.name]).get(found.name, ModelRecord())
    spent = model_totals().get(found.name, ModelTotals()).total_cost
    return {
        "totalGames": record.games,
        "aggregatedData": {
            found.name: {
                **_ratings(found),
                **record.counters(),
                "total_cost": spent,
                "games": [_model_game(row) for row in model_game_rows(found.id, MODEL_GAMES)],
            }
        },
    }


def _simple_entry(model: Model, record: ModelRecord, totals: ModelTotals) -> dict[str, Any]:
    return {
        **_ratings(model),
        **record.counters(),
        "top_score": totals.top_score,
        "total_cost": totals.total_cost,
        "first_game_time": iso(model.created_at),
        "last_game_time": iso(model.last_played_at),
    }


def _model_game(row: ModelGameRow) -> dict[str, Any]:
    game: dict[str, Any] = {
        "game_id": row.game_id,
        "start_time": iso(row.started_at),
        "end_time": iso(row.ended_at),
        "my_score": row.score,
        "result": row.result,
        "cost": row.cost,
        "opponent_score": row.opponent_score,
        "opponent_model": row.opponent,
        "opponent_elo": row.opponent_elo,
    }
    if row.result == "lost" and row.death_round is not None:
        game["death_info"] = {"reason": row.death_reason, "round": row.death_round}
    return game


# --- live games ----------------------------------------------------------------------


def _epoch(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None


def current_state(game: Game, board: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The original's ``current_state`` from the board a worker published: positions,
    scores, the text board, and each player's latest rationale as the last entry of
    ``move_history`` (empty strings where the worker published none; the live board
    carries no move, so ``move`` is empty unless it does); None without a board."""
    state = (board or {}).get("state")
    if not isinstance(state, dict):
        return None
    players = (board or {}).get("players") or {}
    rules = Rules(width=game.width, height=game.height, num_apples=game.num_apples)
    thoughts = {}
    for slot in state.get("snakes", {}):
        found = players.get(slot)
        player: Mapping[str, Any] = found if isinstance(found, dict) else {}
        thoughts[slot] = {
            "move": str(player.get("move") or ""),
            "rationale": str(player.get("rationale") or ""),
        }
    return {
        "round_number": board.get("round", game.rounds) if board else game.rounds,
        "snake_positions": state.get("snakes", {}),
        "alive": state.get("alive", {}),
        "scores": state.get("scores", {}),
        "apples": state.get("apples", []),
        "board_state": render_board(state_from_dict(state), rules),
        "move_history": [thoughts],
        "last_move_time": _epoch(board.get("updated_at")) if board else None,
    }


def _live_entry(
    game: Game, lineup: Sequence[Participant], board: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": game.id,
        "status": STATUS_NAMES.get(game.status, game.status),
        "start_time": _start(game),
        "rounds": board.get("round", game.rounds) if board else game.rounds,
        "board_width": game.width,
        "board_height": game.height,
        "num_apples": game.num_apples,
        "current_state": current_state(game, board),
        "models": {str(p.slot): p.model.name for p in lineup},
    }


@with_store
def live_games(connection: redis.Redis | None = None) -> dict[str, Any]:
    """``/api/games/live``: running games with their published boards."""
    running = running_games(LIVE_LIMIT)
    boards = published_boards([game.id for game in running], connection)
    by_game = lineups(game.id for game in running)
    found = [_live_entry(g, by_game.get(g.id, []), boards.get(g.id)) for g in running]
    return {"games": found, "count": len(found)}


@with_store
def live_game(game_id: str, connection: redis.Redis | None = None) -> dict[str, Any]:
    """``/api/games/<id>/live``: any game's state, the board only while it runs
    (``status`` ``completed`` sends the frontend to the replay)."""
    game = get_game(game_id)
    board = None
    if game.status == "running":
        board = published_boards([game_id], connection).get(game_id)
    lineup = game_participants(game_id)
    total = sum(p.score for p in lineup) if game.status == "completed" else None
    return {
        **_live_entry(game, lineup, board),
        "total_score": total,
        "total_cost": game.total_cost,
    }
