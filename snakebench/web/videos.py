"""A game's pictures on the web: its MP4 (``/games/<id>/video.mp4``, the replay page's
"Download video" button) and its final board as a PNG (``/games/<id>/board.png``, the
game page's Open Graph / Twitter image). Both are drawn by :mod:`snakebench.video`.

The MP4 is the one the worker job wrote next to the replay (``SNAKEBENCH_VIDEOS=1``);
a missing one is rendered here on demand when videos are on, else the answer is 404.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from snakebench.config import get_settings
from snakebench.games.videos import (
    NoReplayError,
    game_video,
    has_replay,
    stored_replay,
    video_on_disk,
)
from snakebench.store import UnknownGameError
from snakebench.video import final_board_png
from snakebench.web.data.common import with_store

blueprint = Blueprint("videos", __name__)

BOARD_MAX_AGE = 300  # seconds a preview image may be cached: a game's end never changes


@blueprint.get("/games/<game_id>/video.mp4")
def video(game_id: str) -> Response:
    path = _video(game_id)
    if path is None:
        abort(404, description=f"game {game_id} has no video")
    return send_file(
        path,
        mimetype="video/mp4",
        as_attachment=True,
        download_name=f"snakebench-{game_id}.mp4",
        conditional=True,
    )


@blueprint.get("/games/<game_id>/board.png")
def board(game_id: str) -> Response:
    png = _board_png(game_id)
    if png is None:
        abort(404, description=f"game {game_id} has no replay")
    response = Response(png, mimetype="image/png")
    response.cache_control.public = True
    response.cache_control.max_age = BOARD_MAX_AGE
    return response


def videos_on() -> bool:
    return get_settings().videos


@with_store
def video_offered(game_id: str) -> bool:
    """Whether the replay page offers "Download video": the MP4 is on disk, or videos
    are on and the game has a replay to render it from."""
    try:
        return video_on_disk(game_id) or (videos_on() and has_replay(game_id))
    except UnknownGameError:
        return False


@with_store
def _video(game_id: str) -> Path | None:
    try:
        return game_video(game_id, render=videos_on())
    except (UnknownGameError, NoReplayError):
        return None


@with_store
def _board_png(game_id: str) -> bytes | None:
    try:
        replay, _ = stored_replay(game_id)
    except (UnknownGameError, NoReplayError):
        return None
    return final_board_png(replay)
