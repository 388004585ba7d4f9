"""Videos of games: a replay drawn frame by frame (:mod:`snakebench.video.frames`, pure
Pillow) and encoded to MP4, GIF or WebP (:mod:`snakebench.video.encode`).

A layer beside :mod:`snakebench.options`: it imports only the engine, and knows no
database, queue or web (an import-linter contract keeps it so). Storing a game's video
next to its replay is :mod:`snakebench.games.videos`.
"""

from snakebench.video.encode import (
    DEFAULT_FPS,
    MAX_FPS,
    VIDEO_FORMATS,
    VideoError,
    VideoFormat,
    check_fps,
    frame_durations,
    mp4_frame_count,
    render_video,
)
from snakebench.video.frames import Layout, VideoSizeError, final_board_png, layout_for

__all__ = [
    "DEFAULT_FPS",
    "MAX_FPS",
    "VIDEO_FORMATS",
    "Layout",
    "VideoError",
    "VideoFormat",
    "VideoSizeError",
    "check_fps",
    "final_board_png",
    "frame_durations",
    "layout_for",
    "mp4_frame_count",
    "render_video",
]
