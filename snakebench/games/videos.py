"""A stored game's video: the MP4 next to its replay JSON (``snake_game_<id>.mp4``
beside ``snake_game_<id>.json``), rendered by :mod:`snakebench.video`.

Shared by the worker job (``jobs/video.py``, enqueued after each completed game when
``SNAKEBENCH_VIDEOS=1``), the web (``/games/<id>/video.mp4``, rendered on demand when
missing and allowed) and ``snakebench replay video ID``.
"""

from __future__ import annotations

from pathlib import Path

from snakebench.engine.replay import Replay, ReplayFormatError, read_replay
from snakebench.store import get_game
from snakebench.video import render_video


class NoReplayError(LookupError):
    """The game has no readable replay to draw (not played yet, failed, or its file is
    gone or damaged); the message says which."""


def stored_replay(game_id: str) -> tuple[Replay, Path]:
    """The game's parsed replay and its file. :class:`snakebench.store.UnknownGameError`
    for an unknown id, :class:`NoReplayError` when there is nothing to draw."""
    game = get_game(game_id)
    if not game.replay_path:
        raise NoReplayError(f"game {game_id} has no replay (status {game.status})")
    path = Path(game.replay_path)
    try:
        return read_replay(path), path
    except ReplayFormatError as exc:
        raise NoReplayError(f"the replay of game {game_id} cannot be read: {exc}") from None


def video_path(replay_path: Path) -> Path:
    """Where a replay's MP4 goes: beside it, same name."""
    return replay_path.with_suffix(".mp4")


def has_replay(game_id: str) -> bool:
    """Whether the game's replay file is there (not read: a quick check for pages)."""
    replay_path = get_game(game_id).replay_path
    return replay_path is not None and Path(replay_path).is_file()


def video_on_disk(game_id: str) -> bool:
    replay_path = get_game(game_id).replay_path
    return replay_path is not None and video_path(Path(replay_path)).is_file()


def game_video(game_id: str, *, render: bool) -> Path | None:
    """The game's MP4: the one on disk, else (``render``) a new one, else None.
    Idempotent: a video already there is never drawn again; a new one is written to
    a temporary name and renamed, so two renders at once leave one whole file."""
    replay, path = stored_replay(game_id)
    target = video_path(path)
    if target.is_file():
        return target
    if not render:
        return None
    return render_video(replay, target)
