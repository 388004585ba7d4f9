"""Games: summaries, filtered lists, one game's detail and its replay."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snakebench.engine.replay import ReplayFormatError, parse_replay
from snakebench.store import (
    GAME_STATUSES,
    Game,
    Participant,
    UnknownBatchError,
    UnknownModelError,
    game_page,
    game_participants,
    get_batch,
    get_game,
    get_model,
    lineups,
)
from snakebench.store.models import RESULTS
from snakebench.web.data.common import (
    MAX_PAGE,
    MAX_PER_PAGE,
    InvalidArgument,
    ReplayUnavailableError,
    iso,
    log,
    published_boards,
    require_int,
    with_store,
)


def game_summary(
    game: Game,
    lineup: Sequence[Participant] | None = None,
    board: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The short form of a game (lists, recent games). ``lineup`` (participants with
    their models) saves a query when the caller read many games' line-ups at once.
    ``board``, a running game's live board, gives its round and scores as they stand
    (the database has them only once the game ends), as ``/live`` shows them."""
    players = list(lineup) if lineup is not None else game_participants(game.id)
    winners = [p.model.name for p in players if p.result == "won"]
    scores: Mapping[str, Any] = ((board or {}).get("state") or {}).get("scores") or {}
    return {
        "id": game.id,
        "status": game.status,
        "created_at": iso(game.created_at),
        "ended_at": iso(game.ended_at),
        "rounds": board.get("round", game.rounds) if board else game.rounds,
        "max_rounds": game.max_rounds,
        "batch_id": game.batch_id,
        "game_type": game.game_type,
        "total_cost": game.total_cost,
        "players": [
            {
                "slot": p.slot,
                "model": p.model.name,
                "score": scores.get(str(p.slot), p.score),
                "result": p.result,
                "cost": p.cost,
                "invalid_moves": p.invalid_moves,
            }
            for p in players
        ],
        "winner": winners[0] if len(winners) == 1 else None,
        "undone_at": iso(game.undone_at),
    }


def summaries(games: Sequence[Game]) -> list[dict[str, Any]]:
    """Summaries of many games with their line-ups read in one query, and the running
    ones' live boards in one Redis read."""
    by_game = lineups(game.id for game in games)
    boards = published_boards([game.id for game in games if game.status == "running"])
    return [game_summary(g, by_game.get(g.id, []), boards.get(g.id)) for g in games]


@with_store
def list_games(
    model: str | None = None,
    batch: str | None = None,
    status: str | None = None,
    result: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    """Games newest first, filtered, one page at a time. ``result`` (won, lost, tied)
    is ``model``'s result, so it needs ``model``. An unknown model or batch in a
    filter is a bad argument, not a missing page: :class:`InvalidArgument`."""
    require_int("page", page, 1, MAX_PAGE)
    require_int("per_page", per_page, 1, MAX_PER_PAGE)
    filters = _game_filters(model, batch, status, result)
    total, games = game_page(page=page, per_page=per_page, **filters)
    return {"games": summaries(games), "total": total, "page": page, "per_page": per_page}


def _game_filters(
    model: str | None, batch: str | None, status: str | None, result: str | None
) -> dict[str, Any]:
    """The filters checked, as :func:`snakebench.store.game_page` takes them."""
    if status is not None and status not in GAME_STATUSES:
        raise InvalidArgument("status", f"must be one of {', '.join(GAME_STATUSES)}")
    if batch is not None:
        try:
            get_batch(batch)
        except UnknownBatchError:
            raise InvalidArgument("batch", f"unknown batch {batch!r}") from None
    if result is not None:
        if result not in RESULTS:
            raise InvalidArgument("result", f"must be one of {', '.join(RESULTS)}")
        if model is None:
            raise InvalidArgument("result", "needs model: a result is a model's result")
    model_id = None
    if model is not None:
        try:
            model_id = get_model(model).id
        except UnknownModelError:
            raise InvalidArgument("model", f"unknown model {model!r}") from None
    return {"model_id": model_id, "batch_id": batch, "status": status, "result": result}


@with_store
def game_detail(game_id: str) -> dict[str, Any]:
    """Everything about one game but its moves (those are in :func:`game_replay`)."""
    game = get_game(game_id)
    lineup = game_participants(game_id)
    board = published_boards([game_id]).get(game_id) if game.status == "running" else None
    return {
        **game_summary(game, lineup, board),
        "seed": game.seed,
        "width": game.width,
        "height": game.height,
        "num_apples": game.num_apples,
        "error": game.error,
        "started_at": iso(game.started_at),
        "worker": game.worker,
        "replay_available": game.replay_path is not None and Path(game.replay_path).is_file(),
        "participants": [_participant_dict(p) for p in lineup],
    }


def _participant_dict(p: Participant) -> dict[str, Any]:
    return {
        "slot": p.slot,
        "model": p.model.name,
        "score": p.score,
        "result": p.result,
        "cost": p.cost,
        "input_tokens": p.input_tokens,
        "output_tokens": p.output_tokens,
        "reasoning_tokens": p.reasoning_tokens,
        "provider_cost": p.provider_cost,
        "invalid_moves": p.invalid_moves,
        "moves": p.moves,
        "fallback_parses": p.fallback_parses,
        "death_round": p.death_round,
        "death_reason": p.death_reason,
        "total_latency_ms": p.total_latency_ms,
        "total_wait_ms": p.total_wait_ms,
        "prompt_variant": p.prompt_variant,
        "prompt_sha": p.prompt_sha,
    }


@with_store
def game_replay(game_id: str) -> dict[str, Any]:
    """The game's replay document (format: docs/RULES.md), checked by the replay
    parser so a viewer never gets half a file."""
    game = get_game(game_id)
    if not game.replay_path:
        raise ReplayUnavailableError(f"game {game_id} has no replay (status {game.status})")
    try:
        data = json.loads(Path(game.replay_path).read_text(encoding="utf-8"))
        parse_replay(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ReplayFormatError) as exc:
        log.warning("replay of game %s unreadable: %s", game_id, exc)
        raise ReplayUnavailableError(f"the replay of game {game_id} cannot be read") from None
    loaded: dict[str, Any] = data
    return loaded
