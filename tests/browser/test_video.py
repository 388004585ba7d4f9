"""The replay page's "Download video" button: in a real chromium it downloads the
game's MP4, which decodes to the game's frames. The site's web server runs with videos
off, so the MP4 is the one a worker wrote next to the replay (rendered here the same
way), and a game without one shows no button."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
from playwright.sync_api import expect

from snakebench.engine.replay import read_replay
from snakebench.video import DEFAULT_FPS, mp4_frame_count, render_video

pytestmark = pytest.mark.slow


def replay_path(site: Any, game_id: str) -> Path:
    ((path,),) = site.sql("SELECT replay_path FROM games WHERE id = ?", game_id)
    return Path(path)


def test_download_video_fetches_a_valid_mp4(page: Any, site: Any, tmp_path: Path) -> None:
    game_id = site.game_ids("bots")[0]
    replay = read_replay(replay_path(site, game_id))
    render_video(replay, replay_path(site, game_id).with_suffix(".mp4"))
    page.goto(f"/games/{game_id}")
    button = page.locator("#download-video")
    expect(button).to_have_text("Download video")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"snakebench-{game_id}.mp4"
    saved = tmp_path / download.suggested_filename
    download.save_as(str(saved))
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(saved))
    assert frames == mp4_frame_count(replay.rounds_played + 1, DEFAULT_FPS)
    assert seconds == pytest.approx(frames / DEFAULT_FPS, abs=0.05)


def test_no_button_without_a_video(page: Any, site: Any) -> None:
    game_id = site.game_ids("bots")[1]
    assert not replay_path(site, game_id).with_suffix(".mp4").exists()
    page.goto(f"/games/{game_id}")
    expect(page.locator("canvas#board")).to_have_attribute("data-ready", "true")
    expect(page.locator("#download-video")).to_have_count(0)
