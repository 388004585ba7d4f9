"""``snakebench replay video``: a replay file or a stored game to MP4, GIF or WebP,
and bad input answered in one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from snakebench.video import layout_for, mp4_frame_count

from .conftest import Invoke

UPSTREAM = Path(__file__).parents[1] / "fixtures" / "upstream-replays"
GAME = UPSTREAM / "snake_game_c7b2bff9-9e21-46de-a089-d4c68a3bf4ba.json"  # 33 rounds, 10x10


def test_a_replay_file_becomes_an_mp4(cli: Invoke, workdir: Path) -> None:
    result = cli("replay", "video", str(GAME), "--fps", "10", "--scale", "8")
    assert result.exit_code == 0, result.output
    written = workdir / f"{GAME.stem}.mp4"  # the default: the replay's name, here
    assert result.stdout.strip() == f"{written.name}: 33 rounds at 10 fps"
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(written))
    assert frames == mp4_frame_count(34, 10)
    assert seconds == pytest.approx(frames / 10, abs=0.05)


@pytest.mark.parametrize("video_format", ["gif", "webp"])
def test_animations_for_chats(cli: Invoke, workdir: Path, video_format: str) -> None:
    out = workdir / "clips" / f"game.{video_format}"
    result = cli("replay", "video", str(GAME), "--format", video_format, "--width", "360",
                 "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.format == video_format.upper()
        assert image.n_frames == 34
        assert image.size == (360, layout_for(10, 10, width=360).height)


def test_a_stored_game_by_its_id(cli: Invoke, workdir: Path) -> None:
    played = cli("play", "greedy", "random", "--seed", "3", "--max-rounds", "12", "--json",
                 "--quiet")  # fmt: skip
    assert played.exit_code == 0, played.output
    summary = json.loads(played.stdout)
    out = workdir / "by-id.gif"
    result = cli("replay", "video", summary["game_id"], "--format", "gif", "--out", str(out))
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:
        assert image.n_frames == summary["rounds"] + 1


def test_a_damaged_replay_file_is_one_line(cli: Invoke, workdir: Path) -> None:
    bad = workdir / "bad.json"
    bad.write_text(json.dumps({"game": {}, "players": {}}))
    result = cli("replay", "video", str(bad))
    assert result.exit_code == 2
    assert result.output.strip() == "error: not a SnakeBench replay: missing 'initial_state'"
    assert not (workdir / "bad.mp4").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--format", "avi"], "must be one of mp4, gif, webp"),
        (["--width", "400", "--scale", "8"], "give --width or --scale, not both"),
        (["--width", "100"], "the width must be from 320 to 3840 pixels"),
        (["--fps", "0"], "--fps"),
        (["--scale", "3"], "--scale"),
    ],
)
def test_bad_options(cli: Invoke, workdir: Path, args: list[str], fragment: str) -> None:
    result = cli("replay", "video", str(GAME), *args)
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert list(workdir.glob("*.mp4")) == []


def test_an_unknown_game_id(cli: Invoke) -> None:
    result = cli("replay", "video", "no-such-game")
    assert result.exit_code == 2
    assert result.output.strip() == "error: unknown game 'no-such-game'"
