"""Videos of a recorded game, checked by decoding them: the MP4 with ffmpeg (frame
count, duration, and the board's colours at cell centres, round by round), the GIF and
WebP with Pillow (frame count and durations)."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from PIL import Image

from snakebench.engine.replay import Replay, board_positions, read_replay
from snakebench.engine.state import GameState
from snakebench.video import (
    VideoSizeError,
    final_board_png,
    frame_durations,
    layout_for,
    mp4_frame_count,
    render_video,
)
from snakebench.video.frames import APPLE, EMPTY, RGB, painter_for, snake_colours

UPSTREAM = Path(__file__).parents[1] / "fixtures" / "upstream-replays"
GAME = UPSTREAM / "snake_game_c7b2bff9-9e21-46de-a089-d4c68a3bf4ba.json"  # 33 rounds, 10x10
TOLERANCE = 24  # per channel: H.264 in yuv420p is lossy, a flat cell's centre stays close


@pytest.fixture(scope="module")
def replay() -> Replay:
    return read_replay(GAME)


@pytest.fixture(scope="module")
def mp4(replay: Replay, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_video(replay, tmp_path_factory.mktemp("mp4") / "game.mp4", fps=5, scale=24)


def decoded_frames(path: Path) -> tuple[dict[str, Any], list[bytes]]:
    reader: Iterator[Any] = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta: dict[str, Any] = next(reader)
    return meta, list(reader)


def expected_colour(state: GameState, x: int, y: int) -> RGB:
    """What the drawing rules put at cell (x, y): heads over bodies over apples."""
    for index, (sid, body) in enumerate(state.snakes.items()):
        if body[0] == (x, y):
            return snake_colours(sid, index)[0]
    for index, (sid, body) in enumerate(state.snakes.items()):
        if (x, y) in body[1:]:
            return snake_colours(sid, index)[1]
    return APPLE if (x, y) in state.apples else EMPTY


def pixel(frame: bytes, width: int, at: tuple[int, int]) -> RGB:
    offset = (at[1] * width + at[0]) * 3
    return frame[offset], frame[offset + 1], frame[offset + 2]


def close(found: RGB, wanted: RGB) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(found, wanted, strict=True))


def test_the_mp4_has_one_frame_per_position_and_a_second_of_the_final_board(
    replay: Replay, mp4: Path
) -> None:
    positions = len(board_positions(replay))
    assert positions == replay.rounds_played + 1 == 34
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == mp4_frame_count(positions, 5) == 34 + 5
    assert seconds == pytest.approx(frames / 5, abs=0.05)


def test_the_mp4_is_h264_in_even_dimensions(replay: Replay, mp4: Path) -> None:
    meta, _ = decoded_frames(mp4)
    layout = layout_for(replay.rules.width, replay.rules.height, scale=24)
    assert tuple(meta["size"]) == (layout.width, layout.height)
    assert layout.width % 2 == 0 and layout.height % 2 == 0
    assert meta["codec"] == "h264"
    assert meta["fps"] == 5


def test_each_mp4_frame_shows_its_rounds_board(replay: Replay, mp4: Path) -> None:
    """Every cell centre of every position's frame has the colour of what is on that
    cell after that round, and the held frames repeat the final board."""
    layout = layout_for(replay.rules.width, replay.rules.height, scale=24)
    _, frames = decoded_frames(mp4)
    positions = board_positions(replay)
    held = [positions[-1]] * (len(frames) - len(positions))
    wrong = []
    for index, ((state, _), frame) in enumerate(zip([*positions, *held], frames, strict=True)):
        for x in range(layout.board_cols):
            for y in range(layout.board_rows):
                found = pixel(frame, layout.width, layout.cell_centre(x, y))
                if not close(found, expected_colour(state, x, y)):
                    wrong.append((index, (x, y), found))
    assert wrong == []


def test_frames_change_as_the_snakes_move(replay: Replay, mp4: Path) -> None:
    """The check above can fail: the first and last boards differ at some cell."""
    layout = layout_for(replay.rules.width, replay.rules.height, scale=24)
    first, last = board_positions(replay)[0][0], board_positions(replay)[-1][0]
    cells = [
        (x, y)
        for x in range(layout.board_cols)
        for y in range(layout.board_rows)
        if expected_colour(first, x, y) != expected_colour(last, x, y)
    ]
    assert cells
    _, frames = decoded_frames(mp4)
    x, y = cells[0]
    found = pixel(frames[0], layout.width, layout.cell_centre(x, y))
    assert not close(found, expected_colour(last, x, y))


@pytest.mark.parametrize("video_format", ["gif", "webp"])
def test_animations_have_one_frame_per_position(
    replay: Replay, tmp_path: Path, video_format: Any
) -> None:
    path = render_video(replay, tmp_path / f"game.{video_format}", video_format=video_format,
                        fps=4, width=400)  # fmt: skip
    positions = len(board_positions(replay))
    with Image.open(path) as image:
        assert image.format == video_format.upper()
        assert image.n_frames == positions
        assert image.size == (400, layout_for(10, 10, width=400).height)
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            image.load()  # WebP reads a frame's duration as it loads it
            durations.append(image.info["duration"])
    assert durations == frame_durations(positions, 4) == [250] * (positions - 1) + [1250]


def test_progress_counts_every_frame(replay: Replay, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    render_video(replay, tmp_path / "p.mp4", fps=2, scale=8,
                 progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    total = mp4_frame_count(replay.rounds_played + 1, 2)
    assert seen == [(n, total) for n in range(1, total + 1)]


def test_the_board_png_is_the_final_position(replay: Replay) -> None:
    data = final_board_png(replay)
    painter = painter_for(replay)
    final = board_positions(replay)[-1][0]
    with Image.open(BytesIO(data)) as image:
        assert image.format == "PNG"
        rgb = image.convert("RGB")
        for x in range(replay.rules.width):
            for y in range(replay.rules.height):
                centre = painter.layout.cell_centre(x, y)
                assert rgb.getpixel(centre) == expected_colour(final, x, y)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ({"width": 100}, "the width must be from 320 to 3840"),
        ({"scale": 2}, "cells of at least 4 pixels"),
        ({"scale": 500}, "over 3840"),
        ({"width": 400, "scale": 10}, "a width or a scale, not both"),
    ],
)
def test_unusable_sizes_are_refused(size: dict[str, int], message: str) -> None:
    with pytest.raises(VideoSizeError, match=message):
        layout_for(10, 10, **size)


def test_a_failed_encode_leaves_no_file(replay: Replay, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fps must be from 1 to 60"):
        render_video(replay, tmp_path / "x.mp4", fps=0)
    assert list(tmp_path.iterdir()) == []
