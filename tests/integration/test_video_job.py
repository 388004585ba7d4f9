"""Videos through real ``rq worker --burst`` processes: with ``SNAKEBENCH_VIDEOS=1``
each completed game's job queues ``render_game_video`` on games-low (job id
``video-<game id>``), which writes a decodable MP4 next to the replay; off by default."""

from __future__ import annotations

import imageio_ffmpeg
from rq.job import Job

from snakebench.queueing import enqueue_video, game_queue, video_job_id
from snakebench.services.batches import BatchSpec, submit_batch
from snakebench.store import Game
from snakebench.video import DEFAULT_FPS, mp4_frame_count

from .conftest import Stack

BOTS = ("greedy", "random")


def play(stack: Stack, count: int, videos: str | None) -> list[Game]:
    batch = submit_batch(BatchSpec(*BOTS, count=count, max_rounds=15, seed=40), stack.redis)
    stack.start_workers(1, burst=True, env={"SNAKEBENCH_VIDEOS": videos})
    stack.wait_workers_exit(timeout=120)
    games = list(Game.select().where(Game.batch_id == batch.id))
    assert [g.status for g in games] == ["completed"] * count, stack.logs()
    return games


def test_each_completed_game_gets_its_video_from_a_worker(stack: Stack) -> None:
    games = play(stack, 2, "1")
    for game in games:
        job = Job.fetch(video_job_id(game.id), connection=stack.redis)
        assert job.func_name == "jobs.video.render_game_video"
        assert job.origin == "games-low"
        assert job.get_status() == "finished", stack.logs()
        video = stack.replay_dir / f"snake_game_{game.id}.mp4"
        assert job.return_value() == {"game_id": game.id, "video": str(video.resolve())}
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
        assert frames == mp4_frame_count(game.rounds + 1, DEFAULT_FPS)
    assert all(game_queue(p, stack.redis).count == 0 for p in ("high", "normal", "low"))


def test_videos_are_off_by_default(stack: Stack) -> None:
    (game,) = play(stack, 1, None)
    assert not Job.exists(video_job_id(game.id), connection=stack.redis)
    assert list(stack.replay_dir.glob("*.mp4")) == []


def test_the_video_job_is_queued_once_and_renders_once(stack: Stack) -> None:
    (game,) = play(stack, 1, "1")
    video = stack.replay_dir / f"snake_game_{game.id}.mp4"
    made = video.stat().st_mtime_ns
    # Queued twice while waiting: one job. Run again: the video on disk is kept.
    assert enqueue_video(game.id, stack.redis) is True
    assert enqueue_video(game.id, stack.redis) is False
    assert game_queue("low", stack.redis).count == 1
    stack.start_workers(1, burst=True)
    stack.wait_workers_exit(timeout=60)
    job = Job.fetch(video_job_id(game.id), connection=stack.redis)
    assert job.get_status() == "finished", stack.logs()
    assert video.stat().st_mtime_ns == made
