"""The web's game pictures: ``/games/<id>/video.mp4`` (served, rendered on demand when
videos are on, else 404), the replay page's "Download video" button, and the game
page's Open Graph / Twitter tags with ``/games/<id>/board.png``."""

from __future__ import annotations

from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image

from snakebench.engine.replay import board_positions, read_replay
from snakebench.store import get_game, open_store
from snakebench.video import DEFAULT_FPS, mp4_frame_count, render_video
from snakebench.video.frames import painter_for

from .conftest import HOSTILE_MODEL, Site


class MetaTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        key = found.get("property") or found.get("name")
        if tag == "meta" and key and found.get("content") is not None:
            self.tags[key] = str(found["content"])


def meta_tags(html: str) -> dict[str, str]:
    parser = MetaTags()
    parser.feed(html)
    return parser.tags


def replay_file(site: Site, game_id: str) -> Path:
    open_store(site.settings)
    return Path(get_game(game_id).replay_path or "")


def test_without_videos_there_is_no_button_and_no_video(site: Site) -> None:
    game_id = site.completed[0]
    page = site.client.get(f"/games/{game_id}").get_data(as_text=True)
    assert 'id="board"' in page and 'id="download-video"' not in page
    assert site.client.get(f"/games/{game_id}/video.mp4").status_code == 404
    assert not replay_file(site, game_id).with_suffix(".mp4").exists()


def test_with_videos_on_the_button_fetches_an_mp4_rendered_on_demand(
    site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SNAKEBENCH_VIDEOS", "1")
    game_id = site.completed[1]
    page = site.client.get(f"/games/{game_id}").get_data(as_text=True)
    assert f'id="download-video" href="/games/{game_id}/video.mp4" download' in page
    response = site.client.get(f"/games/{game_id}/video.mp4")
    assert response.status_code == 200
    assert response.mimetype == "video/mp4"
    assert f"snakebench-{game_id}.mp4" in response.headers["Content-Disposition"]
    fetched = tmp_path / "fetched.mp4"
    fetched.write_bytes(response.get_data())
    response.close()
    replay = read_replay(replay_file(site, game_id))
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(fetched))
    assert frames == mp4_frame_count(replay.rounds_played + 1, DEFAULT_FPS)
    # Written next to the replay, and served from there from now on.
    on_disk = replay_file(site, game_id).with_suffix(".mp4")
    assert on_disk.read_bytes() == fetched.read_bytes()
    made = on_disk.stat().st_mtime_ns
    again = site.client.get(f"/games/{game_id}/video.mp4")
    assert again.get_data() == fetched.read_bytes()
    again.close()
    assert on_disk.stat().st_mtime_ns == made


def test_a_video_the_worker_wrote_is_served_with_videos_off(site: Site) -> None:
    game_id = site.completed[2]
    path = replay_file(site, game_id)
    render_video(read_replay(path), path.with_suffix(".mp4"), scale=8)
    page = site.client.get(f"/games/{game_id}").get_data(as_text=True)
    assert 'id="download-video"' in page
    response = site.client.get(f"/games/{game_id}/video.mp4")
    assert response.status_code == 200
    assert response.get_data() == path.with_suffix(".mp4").read_bytes()
    response.close()


@pytest.mark.parametrize("videos", ["0", "1"])
def test_games_without_a_replay_have_no_video(
    site: Site, monkeypatch: pytest.MonkeyPatch, videos: str
) -> None:
    monkeypatch.setenv("SNAKEBENCH_VIDEOS", videos)
    for game_id in (site.queued_id, site.failed_id, "no-such-game"):
        assert site.client.get(f"/games/{game_id}/video.mp4").status_code == 404
        assert site.client.get(f"/games/{game_id}/board.png").status_code == 404
    page = site.client.get(f"/games/{site.queued_id}").get_data(as_text=True)
    assert 'id="download-video"' not in page


def test_the_board_png_is_the_final_board(site: Site) -> None:
    game_id = site.completed[0]
    response = site.client.get(f"/games/{game_id}/board.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    replay = read_replay(replay_file(site, game_id))
    final = board_positions(replay)[-1][0]
    layout = painter_for(replay).layout
    with Image.open(BytesIO(response.get_data())) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (layout.width, layout.height)
        heads = [rgb.getpixel(layout.cell_centre(*body[0])) for body in final.snakes.values()]
    assert heads == [(0x1D, 0x4E, 0xD8), (0xC2, 0x41, 0x0C)]


def test_the_game_page_has_open_graph_and_twitter_tags(site: Site) -> None:
    game_id = site.completed[0]
    open_store(site.settings)
    lineup = {p.slot: (p.model.name, p.score) for p in get_game(game_id).participants}
    tags = meta_tags(site.client.get(f"/games/{game_id}").get_data(as_text=True))
    (a, sa), (b, sb) = lineup[0], lineup[1]
    assert tags["og:title"] == f"{a} {sa} vs {b} {sb}" == tags["twitter:title"]
    assert tags["og:description"].startswith(f"{get_game(game_id).rounds} rounds on a ")
    assert tags["og:image"] == f"http://localhost/games/{game_id}/board.png"
    assert tags["twitter:image"] == tags["og:image"]
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:url"] == f"http://localhost/games/{game_id}"
    assert site.client.get(tags["og:image"].removeprefix("http://localhost")).status_code == 200


def test_a_hostile_model_name_is_escaped_in_the_tags(site: Site) -> None:
    html = site.client.get(f"/games/{site.hostile_model_game}").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert HOSTILE_MODEL not in head
    assert meta_tags(html)["og:title"].startswith(HOSTILE_MODEL)  # as text, unescaped once


def test_a_game_without_a_replay_has_no_image_tag(site: Site) -> None:
    tags = meta_tags(site.client.get(f"/games/{site.queued_id}").get_data(as_text=True))
    assert "og:image" not in tags and tags["twitter:card"] == "summary"
