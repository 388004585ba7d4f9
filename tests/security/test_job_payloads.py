"""Jobs are JSON, never pickle: a pickled job put on the ``games`` queue (as anyone
with write access to Redis could) is not unpickled by the project's worker, so the
code it carries never runs; the job fails, and the worker goes on with the next job.
``run_game`` takes a game id (a string) and nothing else.

What the JSON serializer does *not* stop is also pinned down here: a JSON job may
name any importable function, and RQ calls it (see SECURITY.md, "Redis").
"""

from __future__ import annotations

import pickle
import zlib
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from rq.job import Job, JobStatus

from snakebench.queueing import SERIALIZER, enqueue_games
from snakebench.store import create_game, get_game

pytestmark = pytest.mark.slow

WORKER_WAIT = 120


class WritesMarker:
    """Unpickling this runs code: it writes ``path``. (Pickling it does not.)"""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.path)!r}, 'w').write('unpickled')",))


def test_a_pickled_job_is_not_unpickled_and_the_worker_carries_on(
    store: Any, workers: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"
    conn = store.redis
    # RQ's default serializer is pickle: this is a job as a stock `Queue` writes it.
    pickled = Queue("games", connection=conn)
    pickled.enqueue("jobs.run_game.run_game", WritesMarker(marker), job_id="pickled")
    json_queue = Queue("games", connection=conn, serializer=SERIALIZER)
    json_queue.enqueue("jobs.run_game.run_game", 42, job_id="not-a-string")
    game = create_game(seed=5, players=("greedy", "random"), max_rounds=20)
    enqueue_games([game.id], max_rounds=20, connection=conn)
    assert json_queue.job_ids == ["pickled", "not-a-string", game.id]

    [worker] = workers.start(store.env, store.redis_url)
    workers.wait_exit(WORKER_WAIT)  # exit status 0: the worker did not crash
    log = worker.output()

    assert not marker.exists(), "the worker unpickled a job"
    assert conn.hget("rq:job:pickled", "status") == b"failed"
    assert "DeserializationError" in log and "UnicodeDecodeError" in log, log[-3000:]
    assert conn.hget("rq:job:not-a-string", "status") == b"failed"
    assert "TypeError: run_game takes a game id, not int" in log, log[-3000:]
    # The next job, a real game, was played.
    assert get_game(game.id).status == "completed"
    job = Job.fetch(game.id, connection=conn, serializer=SERIALIZER)
    assert job.get_status() == JobStatus.FINISHED

    # The payload the worker refused was live: unpickled, it writes the marker.
    pickle.loads(zlib.decompress(conn.hget("rq:job:pickled", "data")))
    assert marker.read_text() == "unpickled"


@pytest.mark.parametrize("argument", [42, None, ["a-game"], {"game_id": "a-game"}, b"a-game"])
def test_run_game_takes_a_string_only(store: Any, argument: Any) -> None:
    from jobs.run_game import run_game

    with pytest.raises(TypeError, match="run_game takes a game id"):
        run_game(argument)


def test_a_json_job_naming_another_function_is_refused(
    store: Any, workers: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "json-ran"
    queue = Queue("games", connection=store.redis, serializer=SERIALIZER)
    queue.enqueue("os.mkdir", str(marker), job_id="foreign")
    workers.start(store.env, store.redis_url)
    workers.wait_exit(WORKER_WAIT)
    assert not marker.exists(), "the worker ran os.mkdir from a JSON job"
