"""The stale-games sweep: fail the games nobody will ever finish.

Reconcile (:mod:`snakebench.services.reconcile`) already repairs every batch game
whose job Redis lost, by enqueueing it again, so this sweep leaves those alone. What
reconcile cannot repair is a game that no job is meant to carry, played by a process
of its own: ``snakebench play``'s game, or a game of a batch or evaluation run with
``--sync``. When that process dies (Ctrl+C missed, a machine lost), the game stays
``queued`` or ``running`` forever, counted as still playing everywhere. The sweep
(:func:`fail_stale_games`, scheduled by ``jobs.cron`` every ``SNAKEBENCH_STALE_EVERY``
seconds) fails each such game older than ``SNAKEBENCH_STALE_AFTER`` seconds that has
no live RQ job and no live board either (a game still publishing its rounds is
being played), saying why; a ``--sync`` evaluation it belonged to fails with it.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import timedelta

import redis

from snakebench.games.live import live_key
from snakebench.queueing.recovery import live_games
from snakebench.services.evaluation import evaluation_of_game
from snakebench.store import Evaluation, GameStateError, complete_game, transaction
from snakebench.store.evaluation_queries import finish_evaluation, locked
from snakebench.store.models import utcnow
from snakebench.store.stale_queries import stale_games

log = logging.getLogger(__name__)


def fail_stale_games(connection: redis.Redis, *, older_than: float) -> list[str]:
    """Fail every stale game (see the module) older than ``older_than`` seconds;
    return their ids."""
    found = stale_games(utcnow() - timedelta(seconds=older_than))
    if not found:
        return []
    live = live_games([gid for gid, _ in found], connection)
    failed: list[str] = []
    for game_id, status in found:
        if game_id in live or connection.exists(live_key(game_id)):
            continue
        reason = (
            f"stale: {status} for over {older_than:g} s with no job and no process "
            "playing it (failed by the stale-games sweep)"
        )
        if _fail(game_id, reason):
            failed.append(game_id)
    if failed:
        log.warning("stale games: %d failed: %s", len(failed), ", ".join(failed))
    return failed


def _fail(game_id: str, reason: str) -> bool:
    """Fail the game, and the ``--sync`` evaluation it is part of; False if it ended
    meanwhile."""
    try:
        complete_game(game_id, rounds=0, replay_path=None, total_cost=0.0, participants=[],
                      status="failed", error=reason)  # fmt: skip
    except GameStateError:
        return False
    evaluation_id = evaluation_of_game(game_id)
    if evaluation_id is not None:
        with suppress(GameStateError), transaction(immediate=True):
            finish_evaluation(locked(Evaluation, evaluation_id), "failed", reason)
    return True
