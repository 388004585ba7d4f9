"""Encode a replay's frames: MP4 (H.264, yuv420p) through the ffmpeg binary that
``imageio-ffmpeg`` ships, fed raw RGB frames on its standard input; animated GIF and
WebP through Pillow.

Timing, the same for every format: each board position (the initial board, then the
board after each round) is shown for ``1 / fps`` seconds, and the final board for one
second more, so a viewer sees how the game ended. An MP4 has a constant frame rate, so
it holds the final board for ``fps`` extra frames (:func:`mp4_frame_count`); a GIF or
WebP gives its last frame a longer duration instead (one frame per position).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, get_args

from PIL import Image

from snakebench.engine.replay import Replay, board_positions
from snakebench.video.frames import painter_for

VideoFormat = Literal["mp4", "gif", "webp"]
VIDEO_FORMATS: tuple[VideoFormat, ...] = get_args(VideoFormat)
DEFAULT_FPS = 4
MAX_FPS = 60
HOLD_SECONDS = 1  # the final board stays this long after the last round
# Called after each frame is drawn with (frames done, frames in all).
Progress = Callable[[int, int], None]


class VideoError(RuntimeError):
    """The encoder failed; the message is its own last line."""


def mp4_frame_count(positions: int, fps: int) -> int:
    """Frames in an MP4 of ``positions`` board positions at ``fps``."""
    return positions + HOLD_SECONDS * fps


def frame_durations(positions: int, fps: int) -> list[int]:
    """Milliseconds each GIF or WebP frame shows (one frame per position)."""
    step = round(1000 / fps)
    return [step] * (positions - 1) + [step + HOLD_SECONDS * 1000]


def check_fps(fps: int) -> None:
    if not 1 <= fps <= MAX_FPS:
        raise ValueError(f"fps must be from 1 to {MAX_FPS}")


def render_video(
    replay: Replay,
    path: str | Path,
    *,
    video_format: VideoFormat = "mp4",
    fps: int = DEFAULT_FPS,
    width: int | None = None,
    scale: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write ``replay`` as a video to ``path`` (atomically: a temporary file renamed
    into place, so a reader never sees half a video). Returns the path."""
    check_fps(fps)
    if video_format not in VIDEO_FORMATS:
        raise ValueError(f"format must be one of {', '.join(VIDEO_FORMATS)}")
    painter = painter_for(replay, width=width, scale=scale)
    positions = len(board_positions(replay))
    drawn = painter.frames()
    if video_format == "mp4":
        frames = _counted(
            _held(drawn, HOLD_SECONDS * fps), mp4_frame_count(positions, fps), progress
        )
    else:
        frames = _counted(drawn, positions, progress)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")  # one per render
    try:
        if video_format == "mp4":
            size = (painter.layout.width, painter.layout.height)
            _encode_mp4(frames, size, fps, staged)
        else:
            _save_animation(frames, frame_durations(positions, fps), video_format, staged)
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)
    return target


def _counted(
    frames: Iterator[Image.Image], total: int, progress: Progress | None
) -> Iterator[Image.Image]:
    for done, frame in enumerate(frames, start=1):
        yield frame
        if progress is not None:
            progress(done, total)


def _held(frames: Iterator[Image.Image], extra: int) -> Iterator[Image.Image]:
    """Every frame, then the last one ``extra`` more times."""
    last: Image.Image | None = None
    for frame in frames:
        last = frame
        yield frame
    if last is not None:
        for _ in range(extra):
            yield last


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # a registry package's binary, found on first use

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def _encode_mp4(frames: Iterator[Image.Image], size: tuple[int, int], fps: int, path: Path) -> None:
    command = [
        ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
        "-framerate", str(fps), "-i", "-",
        "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
        "-crf", "20", "-movflags", "+faststart", "-f", "mp4", str(path),
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as encoder:
        assert encoder.stdin is not None and encoder.stderr is not None
        try:
            for frame in frames:
                encoder.stdin.write(frame.tobytes())
        except BrokenPipeError:
            pass  # the encoder stopped: its own message follows
        finally:
            encoder.stdin.close()
        errors = encoder.stderr.read().decode(errors="replace")
        code = encoder.wait()
    if code != 0:
        lines = [line for line in errors.splitlines() if line.strip()]
        raise VideoError(f"ffmpeg failed ({code}): {lines[-1] if lines else 'no message'}")


def _save_animation(
    frames: Iterator[Image.Image], durations: list[int], video_format: VideoFormat, path: Path
) -> None:
    first = next(frames)
    options: dict[str, object] = {"save_all": True, "append_images": frames, "loop": 0}
    if video_format == "webp":
        options.update(lossless=False, quality=80, method=4)
    else:
        options.update(optimize=False, disposal=1)
    first.save(path, format=video_format.upper(), duration=durations, **options)
