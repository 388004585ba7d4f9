"""What a job on Redis can make a worker do, in the two modes SECURITY.md describes.

The wire is RQ's default pickle carrying primitives only. A *hardened* worker (the
documented WORKER_COMMAND: ``-S snakebench.queueing.RestrictedPickle -j
snakebench.queueing.GameJob``) unpickles no global and calls no function but
SnakeBench's: a job planted by anyone with write access to Redis (a pickled
``exec``, a primitive job naming ``os.mkdir``, a planted meta) fails unrun, reported
as a failed job with the reason, and the worker goes on to play the next real game.
A *stock* worker (``rq worker games``) plays the same games, and trusts Redis as RQ
does: the last test shows what that means. ``run_game`` takes a game id and nothing
else.
"""

from __future__ import annotations

import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus

from snakebench.queueing import PLAIN_WORKER_COMMAND, SERIALIZER, enqueue_games
from snakebench.store import create_game, get_game

pytestmark = pytest.mark.slow

WORKER_WAIT = 120


class WritesMarker:
    """Unpickling this runs code: it writes ``path``. (Pickling it does not.)"""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.path)!r}, 'w').write('unpickled')",))


def plant(conn: redis.Redis, marker: Path, game_id: str) -> list[str]:
    """Three planted jobs and a real game whose meta is planted, in the ``games`` queue
    before the real game's own job; returns the planted jobs' ids."""
    stock = Queue("games", connection=conn)  # RQ's default serializer: plain pickle
    stock.enqueue("jobs.run_game.run_game", WritesMarker(marker), job_id="pickled-argument")
    stock.enqueue("os.mkdir", str(marker), job_id="foreign-function")
    ours = Queue("games", connection=conn, serializer=SERIALIZER)
    ours.enqueue("jobs.run_game.run_game", 42, job_id="not-a-string")
    enqueue_games([game_id], max_rounds=20, connection=conn)
    planted_meta = pickle.dumps({"note": WritesMarker(marker)})
    conn.hset(Job.key_for(game_id), "meta", planted_meta)
    return ["pickled-argument", "foreign-function", "not-a-string"]


def failure_of(conn: redis.Redis, job_id: str) -> str:
    job = Job.fetch(job_id, connection=conn, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.FAILED, job_id
    result = job.latest_result()
    assert result is not None and result.exc_string, job_id
    return result.exc_string


def test_a_hardened_worker_runs_nothing_planted_and_plays_on(
    store: Any, workers: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "planted-ran"
    conn = store.redis
    game = create_game(seed=5, players=("greedy", "random"), max_rounds=20)
    planted = plant(conn, marker, game.id)
    assert Queue("games", connection=conn).job_ids == [*planted, game.id]

    [worker] = workers.start(store.env, store.redis_url)
    workers.wait_exit(WORKER_WAIT)  # exit status 0: the worker did not crash
    log = worker.output()

    assert not marker.exists(), "the hardened worker ran planted code"
    # Each planted job is a failed job whose reason says why (rq-dashboard's Failed
    # registry, `rq info`), as is the worker's log.
    assert "refusing pickled global builtins.exec" in failure_of(conn, "pickled-argument")
    assert "ForeignJobError: refusing to run 'os.mkdir'" in failure_of(conn, "foreign-function")
    assert "TypeError: run_game takes a game id, not int" in failure_of(conn, "not-a-string")
    assert "refusing pickled global builtins.exec" in log, log[-3000:]
    # The real game after them was played, its planted meta never loaded.
    assert get_game(game.id).status == "completed"
    assert Job.fetch(game.id, connection=conn, serializer=SERIALIZER).is_finished

    # The payloads the worker refused were live: unpickled, they write the marker.
    pickle.loads(zlib.decompress(conn.hget("rq:job:pickled-argument", "data")))
    assert marker.read_text() == "unpickled"


def test_a_stock_worker_plays_our_games_and_trusts_redis_as_rq_does(
    store: Any, workers: Any, tmp_path: Path
) -> None:
    """The other mode: `rq worker games` reads the same jobs, and with them whatever
    else is planted (SECURITY.md: Redis must be SnakeBench's alone)."""
    marker = tmp_path / "planted-ran"
    conn = store.redis
    game = create_game(seed=5, players=("greedy", "random"), max_rounds=20)
    plant(conn, marker, game.id)
    workers.start(store.env, store.redis_url, command=PLAIN_WORKER_COMMAND)
    workers.wait_exit(WORKER_WAIT)
    assert get_game(game.id).status == "completed"
    assert marker.exists(), "a stock worker unpickles what it is given"


@pytest.mark.parametrize("argument", [42, None, ["a-game"], {"game_id": "a-game"}, b"a-game"])
def test_run_game_takes_a_string_only(store: Any, argument: Any) -> None:
    from jobs.run_game import run_game

    with pytest.raises(TypeError, match="run_game takes a game id"):
        run_game(argument)
