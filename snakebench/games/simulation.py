"""``run_simulation``: one stored game, from its row in the database to its replay file.

The original's entry point has the same name and returns the same summary
(``game_id``, ``final_scores``, ``game_result``). Here it is split in two so that
queue workers can run a game that dispatch already created: :func:`create_stored_game`
writes the row, :func:`run_stored_game` plays it and records the result.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis

from snakebench.config import ConfigError, Settings, get_settings
from snakebench.engine import Rules
from snakebench.engine.replay import write_replay
from snakebench.games.game_log import (
    game_ended,
    game_left,
    game_not_played,
    game_started,
    player_names,
)
from snakebench.games.live import publishing
from snakebench.games.loop import GameOutcome, GameSetup, RoundHook, RunSuperseded, play_game
from snakebench.games.players import make_player
from snakebench.games.prompts import lineup_prompt, prompt_variant, usable_prompt_variant
from snakebench.games.request_limits import gate_players
from snakebench.games.spending import SpendMeter, meter_players, settle_pending
from snakebench.options import GameOptions
from snakebench.players.base import Player
from snakebench.players.llm import LLMPlayer
from snakebench.store import (
    DATABASE_DOWN_ERRORS,
    FINAL_GAME_STATUSES,
    Game,
    Model,
    Participant,
    budget_spent,
    cancel_game,
    create_game,
    game_participants,
    get_active_model,
    get_game,
    get_game_and_batch,
    mark_running,
    record_game_end,
    run_is_current,
    stop_queued_games,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class GameParams(GameOptions):
    """One game: its options (the original's single game by default: 150 rounds), its
    seed, and where it belongs."""

    max_rounds: int = 150
    seed: int | None = None
    game_type: str = "ladder"
    game_id: str | None = None
    batch_id: str | None = None


def run_simulation(
    model_a: str,
    model_b: str,
    params: GameParams | None = None,
    *,
    settings: Settings | None = None,
    on_round: RoundHook | None = None,
) -> dict[str, Any]:
    """Play ``model_a`` (snake "0") against ``model_b`` (snake "1") and store the game."""
    game = create_stored_game(model_a, model_b, params or GameParams(), settings=settings)
    return run_stored_game(game.id, settings=settings, on_round=on_round)


def create_stored_game(
    model_a: str, model_b: str, params: GameParams, *, settings: Settings | None = None
) -> Game:
    """Validate everything a game needs, then write it as ``queued``.

    Unknown models, impossible rules and missing API keys are refused here, before
    anything is written, so bad input never leaves a game that can only fail.
    """
    settings = settings or get_settings()
    check_game(model_a, model_b, params, settings)
    seed = params.seed if params.seed is not None else secrets.randbits(31)
    columns = asdict(params)
    for key in ("seed", "game_id", "batch_id"):
        columns.pop(key)
    return create_game(
        seed=seed,
        players=(model_a, model_b),
        game_id=params.game_id,
        batch_id=params.batch_id,
        **columns,
    )


def check_game(model_a: str, model_b: str, params: GameParams, settings: Settings) -> list[Model]:
    """Refuse a game that could only fail: impossible rules, an unusable replay folder,
    unknown or removed models, an unknown or removed prompt variant, a missing API key
    (building each player reads its key). Returns the two models. Dispatch runs it
    once for a whole batch."""
    params.check()
    if params.prompt_variant is not None:  # checked even when no model would use it (bots)
        usable_prompt_variant(params.prompt_variant)
    usable_replay_dir(settings)
    models = [get_active_model(name) for name in (model_a, model_b)]
    for model in models:
        make_player(model, seed=0, invalid_policy=params.invalid_move_policy, settings=settings,
                    prompt=lineup_prompt(model, params.prompt_variant))  # fmt: skip
    return models


def run_stored_game(
    game_id: str,
    *,
    settings: Settings | None = None,
    on_round: RoundHook | None = None,
    worker: str | None = None,
    live: redis.Redis | None = None,
) -> dict[str, Any]:
    """Play a stored game and record its end (game row, participants, model counters
    in one transaction). A game already over (completed, void, failed or cancelled)
    returns its stored result; ``retry`` re-queues a void or failed game first.
    With ``live`` (a worker's Redis) each round's board and the players' rationales are
    published for the web (:mod:`snakebench.games.live`), and
    the spending caps are counted there (:mod:`snakebench.games.spending`).

    The run is fenced: it plays under the token :func:`mark_running` gave it, books
    each provider call only while the token is still the game's (and the game still
    running: the ledger row's INSERT checks it, :func:`snakebench.store.open_fenced_call`),
    and records its result only if so. A run that another has
    overtaken (a worker cut off while ``reconcile`` enqueued the game again), or whose
    game was cancelled, stops and returns what is stored;
    :class:`snakebench.store.GameStateError` when it had already played to the end."""
    settings = settings or get_settings()
    game = get_game_and_batch(game_id)  # read once, its batch with it, and passed along
    unplayed = _not_to_be_played(game)
    if unplayed is not None:
        return unplayed
    usable_replay_dir(settings)  # before the game costs anything
    lineup = game_participants(game_id)
    names = player_names(lineup)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    token = game.attempt = mark_running(game_id, worker, seen=game).attempt
    started = time.monotonic()
    game_started(game.id, names, token, worker)
    try:
        players = build_players(lineup, game, settings)
        prompts = prompt_records(players)
        meters = meter_players(players, lineup, game, token, settings, live)
        game_over = threading.Event()  # set by play_game when it stops asking for moves
        gate_players(players, lineup, settings, live, game_over)
    except DATABASE_DOWN_ERRORS:
        raise  # an outage, not bad data: the job fails and RQ runs it again later
    except Exception as exc:  # a key gone missing since dispatch: bad data, not a game
        summary = _record_unplayable(game.id, token, f"{type(exc).__name__}: {exc}", lineup)
        game_ended(summary, names, 0.0, time.monotonic() - started)
        return summary
    try:
        remote = any(player.remote for player in players.values())
        with publishing(live, game.id, on_round, remote=remote) as hooks:
            outcome = play_game(
                _setup(game, lineup, prompts),
                players,
                hooks,
                keep_playing=None if _fenced(players) else lambda: run_is_current(game.id, token),
                stopped=game_over,
                not_results=DATABASE_DOWN_ERRORS,  # the job fails and runs again
            )
    except KeyboardInterrupt:
        # Stopped by its operator: not a result, not a failure, and not to be run again.
        cancel_game(game.id)
        log.warning("game %s cancelled: interrupted by its operator", game.id)
        raise
    except RunSuperseded:
        # Cancelled meanwhile, or overtaken by a newer run (reconcile): not ours to record.
        summary = stored_summary(get_game(game.id))
        game_left(summary, token, time.monotonic() - started)
        return summary
    finally:
        # However the game ended: each player's last call settled (its next call's
        # row would have carried it), before the game's end is recorded.
        settle_pending(meters)
    summary = _record(game, outcome, settings, token, prompts, lineup)
    waited = sum(stats.wait_ms for stats in outcome.stats.values()) / 1000
    game_ended(summary, names, outcome.total_cost, time.monotonic() - started, waited)
    if game.batch_id and any(meter.batch_spent for meter in meters):
        # The batch's cap has no room left and never will: its queued games end now,
        # rather than each in turn at its first call.
        stopped = stop_queued_games(game.batch_id, f"not played: {outcome.error}")
        log.info("batch %s: its cap is spent; %d queued games cancelled", game.batch_id,
                 len(stopped))  # fmt: skip
    return summary


def _fenced(players: dict[str, Player]) -> bool:
    """Whether every player that calls a provider books each call through a fenced
    ledger row (:func:`snakebench.games.spending.meter_players` metered it): then the
    rounds need no check of their own, a statement each."""
    remote = [player for player in players.values() if player.remote]
    return all(isinstance(p, LLMPlayer) and isinstance(p.meter, SpendMeter) for p in remote)


def _not_to_be_played(game: Game) -> dict[str, Any] | None:
    """The stored summary of a game this run must not play, the reason logged; None
    for a game to play."""
    if game.status in FINAL_GAME_STATUSES:  # finished, cancelled or given up: not again
        why, summary = "already over", stored_summary(game)
    elif budget_spent(game.batch):  # the budget holds even with no monitor running
        cancel_game(game.id)
        why, summary = "its batch's --max-cost is spent", stored_summary(get_game(game.id))
    else:
        return None
    game_not_played(summary, why)
    return summary


def _record_unplayable(
    game_id: str, token: int, error: str, lineup: list[Participant]
) -> dict[str, Any]:
    """Record a game that failed before its first move (no players, no rounds)."""
    game, saved = record_game_end(
        game_id,
        rounds=0,
        replay_path=None,
        total_cost=0.0,
        participants=[],
        status="failed",
        error=error,
        attempt=token,
        lineup=lineup,
    )
    return summary_of(game, saved)


def _setup(game: Game, lineup: list[Participant], prompts: PromptRecords) -> GameSetup:
    return GameSetup(
        game_id=game.id,
        rules=Rules.of(game),
        seed=game.seed,
        names={str(p.slot): p.model.name for p in lineup},
        game_type=game.game_type,
        model_ids={str(p.slot): str(p.model.id) for p in lineup},
        prompts=prompts,
    )


def usable_replay_dir(settings: Settings) -> Path:
    """The replay folder, created if needed; a folder that cannot be made is a
    configuration error, found before a game is written or played."""
    folder = settings.replay_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"SNAKEBENCH_REPLAY_DIR={str(folder)!r} cannot be used: {exc.strerror or exc}"
        ) from None
    return folder


def _record(
    game: Game,
    outcome: GameOutcome,
    settings: Settings,
    token: int,
    prompts: PromptRecords,
    lineup: list[Participant],
) -> dict[str, Any]:
    """Store the end of a game: the replay is staged under a name of this attempt's
    own, the result committed, and only then the file renamed into place. So a
    replay file exists only for a recorded result, and a second run of the same
    game (a re-delivered job) can never overwrite the replay of the first."""
    final = settings.replay_dir / f"snake_game_{game.id}.json"
    staged = final.with_name(f".{final.name}.{uuid.uuid4().hex}")
    status, error, replay_path = outcome.status, outcome.error, None
    try:
        write_replay(staged, outcome.replay)
        replay_path = str(final.resolve())
    except OSError as exc:  # disk full, folder removed: the result stands, the record fails
        status, error = "failed", f"cannot write replay {final}: {exc.strerror or exc}"
    try:
        ended, saved = record_game_end(
            game.id,
            rounds=outcome.state.round,
            replay_path=replay_path,
            total_cost=outcome.total_cost,
            participants=_participant_rows(outcome, prompts),
            status=status,
            error=error,
            attempt=token,
            lineup=lineup,
        )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    if replay_path:
        staged.replace(final)
    return summary_of(ended, saved)


def _participant_rows(outcome: GameOutcome, prompts: PromptRecords) -> list[dict[str, Any]]:
    state = outcome.state
    rows = []
    for sid, stats in outcome.stats.items():
        death = state.deaths.get(sid)
        rows.append(
            {
                "slot": int(sid),
                "score": state.scores[sid],
                "result": (state.results or {}).get(sid),
                "death_round": death.round if death else None,
                "death_reason": death.reason if death else None,
                "cost": stats.cost,
                "input_tokens": stats.input_tokens,
                "output_tokens": stats.output_tokens,
                "reasoning_tokens": stats.reasoning_tokens,
                "provider_cost": stats.provider_cost,
                "invalid_moves": stats.invalid_moves,
                "fallback_parses": stats.fallback_parses,
                "moves": stats.moves,
                "total_latency_ms": stats.latency_ms,
                "total_wait_ms": stats.wait_ms,
                "prompt_sha": prompts.get(sid, {}).get("prompt_sha"),
            }
        )
    return rows


def stored_summary(game: Game) -> dict[str, Any]:
    """The original's ``run_simulation`` result (``game_id``, ``final_scores``,
    ``game_result``) plus status, rounds, deaths, replay path and error, read back
    from the database so that a first run and a repeated one answer the same."""
    return summary_of(game, game_participants(game.id))


def summary_of(game: Game, lineup: list[Participant]) -> dict[str, Any]:
    """:func:`stored_summary` of the game and participants as recorded (what
    :func:`snakebench.store.record_game_end` returns): the same answer, not read back."""
    return {
        "game_id": game.id,
        "final_scores": {str(p.slot): p.score for p in lineup},
        "game_result": {str(p.slot): p.result for p in lineup if p.result},
        "status": game.status,
        "rounds": game.rounds,
        "deaths": {
            str(p.slot): {"reason": p.death_reason, "round": p.death_round}
            for p in lineup
            if p.death_reason
        },
        "replay_path": game.replay_path,
        "error": game.error,
    }


def build_players(lineup: list[Participant], game: Game, settings: Settings) -> dict[str, Player]:
    """One player per slot, seeded by the game (bots break ties from it), each LLM
    prompted with the variant its participant row names (a removed variant too: the
    game was written while it was active)."""
    return {
        str(p.slot): make_player(
            p.model,
            seed=game.seed,
            invalid_policy=game.invalid_move_policy,
            settings=settings,
            prompt=prompt_variant(p.prompt_variant) if p.prompt_variant else None,
        )
        for p in lineup
    }


PromptRecords = dict[str, dict[str, str]]


def prompt_records(players: dict[str, Player]) -> PromptRecords:
    """What the game records of each LLM player's prompt (the replay's player block,
    the participant row): the variant's name and the SHA-256 of its text."""
    return {
        sid: {"prompt_variant": player.prompt.name, "prompt_sha": player.prompt.sha}
        for sid, player in players.items()
        if isinstance(player, LLMPlayer)
    }
