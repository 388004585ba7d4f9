"""A completed game's video, rendered by a worker: ``render_game_video(game_id)`` on
games-low (job id ``video-<game id>``), enqueued by ``run_game`` when
``SNAKEBENCH_VIDEOS=1``. It writes ``snake_game_<id>.mp4`` next to the replay JSON;
the web serves it at ``/games/<id>/video.mp4``."""

from __future__ import annotations

import logging
from typing import Any

import redis

from snakebench.config import Settings, get_settings
from snakebench.games.videos import game_video
from snakebench.logs import bounded
from snakebench.queueing import enqueue_video
from snakebench.store import database, open_store_once

log = logging.getLogger(__name__)


def render_game_video(game_id: str) -> dict[str, Any]:
    """Render the game's MP4 beside its replay, unless it is there already
    (idempotent). Returns ``{"game_id", "video"}`` (the file's path)."""
    if not isinstance(game_id, str):
        raise TypeError(f"render_game_video takes a game id, not {type(game_id).__name__}")
    open_store_once(get_settings())
    try:
        path = game_video(game_id, render=True)
    finally:
        database.close()  # a work horse is about to exit; do not leak the connection
    log.info("game %s: video %s", game_id, path)
    return {"game_id": game_id, "video": str(path)}


def video_after_game(
    summary: dict[str, Any], settings: Settings, connection: redis.Redis | None
) -> None:
    """After a game's job: queue its video when videos are on and the game completed.
    Redis trouble here costs the video, never the game's result."""
    if not settings.videos or connection is None or summary.get("status") != "completed":
        return
    try:
        enqueue_video(str(summary["game_id"]), connection)
    except redis.RedisError as exc:
        log.warning("game %s: video not queued: %s", summary["game_id"], bounded(exc))
