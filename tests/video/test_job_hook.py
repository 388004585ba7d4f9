"""When a game's job queues its video: only with SNAKEBENCH_VIDEOS=1, only for a
completed game run by a worker, and never at the cost of the game's own result."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from jobs.video import render_game_video, video_after_game
from snakebench.config import Settings
from snakebench.queueing import ALLOWED_FUNCTIONS, RENDER_VIDEO, game_queue, video_job_id

ON = Settings(videos=True)
COMPLETED = {"game_id": "g1", "status": "completed"}


def test_the_job_is_one_the_hardened_worker_runs() -> None:
    assert RENDER_VIDEO in ALLOWED_FUNCTIONS
    assert f"{render_game_video.__module__}.{render_game_video.__name__}" == RENDER_VIDEO
    assert video_job_id("g1") == "video-g1"


@pytest.mark.parametrize(
    ("summary", "settings"),
    [
        (COMPLETED, Settings()),  # videos off (the default)
        ({"game_id": "g1", "status": "void"}, ON),
        ({"game_id": "g1", "status": "failed"}, ON),
    ],
)
def test_no_video_is_queued(real_redis: redis.Redis, summary: Any, settings: Settings) -> None:
    video_after_game(summary, settings, real_redis)
    assert game_queue("low", real_redis).count == 0


def test_a_completed_game_queues_its_video_on_games_low(real_redis: redis.Redis) -> None:
    video_after_game(COMPLETED, ON, real_redis)
    queue = game_queue("low", real_redis)
    assert queue.job_ids == ["video-g1"]
    job = queue.fetch_job("video-g1")
    assert job is not None and job.func_name == RENDER_VIDEO and job.args == ("g1",)


def test_redis_down_costs_the_video_not_the_game(caplog: pytest.LogCaptureFixture) -> None:
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    video_after_game(COMPLETED, ON, down)  # no exception
    assert "game g1: video not queued" in caplog.text


def test_the_job_takes_a_game_id_only() -> None:
    with pytest.raises(TypeError, match="takes a game id"):
        render_game_video(42)  # type: ignore[arg-type]
