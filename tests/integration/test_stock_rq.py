"""Stock RQ end to end, as its users type it: a literal ``rq worker games`` (no flags,
REDIS_URL from the environment), ``rq worker-pool``, plain and hardened workers on one
queue, and every page and data endpoint of rq-dashboard, both inside ``snakebench web``
and standalone, while games are being played and with finished, failed, scheduled,
stopped and cancelled jobs in the registries.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq import Worker as RqWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.localstack.processes import free_port, port_open
from snakebench.queueing import PLAIN_WORKER_COMMAND, SERIALIZER, WORKER_QUEUES
from snakebench.services.batches import BatchSpec, batch_progress, cancel_batch, submit_batch
from snakebench.store import Game, batch_game_ids, get_game, upsert_model
from snakebench.testing import support as support
from snakebench.testing.support import Worker

from .checks import assert_batch_completed
from .conftest import Stack, wait_until

pytestmark = pytest.mark.slow

BOTS = ("greedy", "random")
# rq-dashboard 0.9's registries, as its URLs name them.
DASHBOARD_REGISTRIES = (
    "queued",
    "started",
    "finished",
    "failed",
    "deferred",
    "scheduled",
    "canceled",
)


def start_literal(stack: Stack, command: str, label: str) -> Worker:
    """``command`` exactly as a user types it (this environment's ``rq`` for the first
    word), started in a folder of its own with the stack's environment: REDIS_URL,
    DATABASE_URL and the replay folder, nothing on the command line."""
    words = shlex.split(command)
    assert words[0] == "rq", command
    folder = stack.tmp / label
    folder.mkdir()
    log = stack.tmp / f"{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [support.RQ, *words[1:]],
            cwd=folder,
            env=stack.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(name=label, process=process, log=log)
    stack.workers.append(worker)
    return worker


def dispatch(stack: Stack, *args: str) -> str:
    """``python -m snakebench.dispatch ARGS --json`` as a user runs it; the batch id."""
    done = subprocess.run(
        [sys.executable, "-m", "snakebench.dispatch", *args, "--json"],
        env=stack.env,
        cwd=stack.tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    batch_id: str = json.loads(done.stdout)["batch_id"]
    return batch_id


def wait_finished(batch_id: str, timeout: float, stack: Stack) -> None:
    try:
        wait_until(lambda: batch_progress(batch_id).finished, timeout, f"batch {batch_id}")
    except BaseException:
        print(stack.logs())
        raise


@pytest.mark.parametrize(
    "command",
    [
        "rq worker games",
        "rq worker games-high games games-low --with-scheduler",
        "rq worker-pool -n 4 games",
    ],
)
def test_stock_rq_commands_play_what_dispatch_submitted(stack: Stack, command: str) -> None:
    start_literal(stack, command, "stock")
    batch_id = dispatch(stack, "--model-a", "greedy", "--model-b", "random", "--count", "8",
                        "--max-rounds", "30", "--seed", "3")  # fmt: skip
    wait_finished(batch_id, 120, stack)
    assert_batch_completed(batch_id, 8, stack.replay_dir, BOTS, stack.redis)
    if "--with-scheduler" in command:  # scheduled games are moved on time by its scheduler
        later = dispatch(stack, "--model-a", "greedy", "--model-b", "random", "--count", "2",
                         "--max-rounds", "30", "--in", "2s", "--priority", "low")  # fmt: skip
        wait_finished(later, 60, stack)
        assert {get_game(g).status for g in batch_game_ids(later)} == {"completed"}


def test_plain_and_hardened_workers_serve_one_queue(stack: Stack) -> None:
    plain = start_literal(stack, PLAIN_WORKER_COMMAND, "plain")
    [hardened] = stack.start_workers(1)  # WORKER_COMMAND
    batch = submit_batch(BatchSpec(*BOTS, count=40, max_rounds=40, seed=9), stack.redis)
    wait_finished(batch.id, 120, stack)
    assert_batch_completed(batch.id, 40, stack.replay_dir, BOTS, stack.redis)
    played_by = {game.worker for game in Game.select(Game.worker)}
    assert hardened.name in played_by, played_by
    assert played_by - {hardened.name}, f"the plain worker played nothing: {plain.output()}"


def dispatch_status(stack: Stack) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "snakebench.dispatch", "status"],
        env=stack.env, cwd=stack.tmp, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_a_worker_that_cannot_read_our_jobs_is_named_at_its_first_game(stack: Stack) -> None:
    """The old docs' `-S json` worker: each game fails unread and waits for a retry,
    while RQ records nothing. `dispatch status` names the worker at once; once it is
    gone, a good worker plays the games and the warning is gone too."""
    wrong = start_literal(stack, "rq worker -S json games", "json-worker")
    batch_id = dispatch(stack, "--model-a", "greedy", "--model-b", "random", "--count", "2",
                        "--max-rounds", "20")  # fmt: skip
    games = batch_game_ids(batch_id)
    scheduled = ScheduledJobRegistry("games", connection=stack.redis)
    wait_until(lambda: scheduled.get_job_count(cleanup=False) == 2, 60, "both games to wait")
    [name] = [w.name for w in RqWorker.all(connection=stack.redis)]
    warning = dispatch_status(stack).stderr
    assert f"worker {name} cannot run SnakeBench's jobs: it took game" in " ".join(warning.split())
    assert {get_game(g).status for g in games} == {"queued"}  # nothing lost meanwhile

    support.terminate_processes([wrong.process])
    assert "cannot run" not in dispatch_status(stack).stderr  # a worker that is gone
    stack.start_workers(1)
    for job_id in scheduled.get_job_ids(cleanup=False):  # due now, not in 15-60 s
        stack.redis.zadd(scheduled.key, {job_id: 0})
    wait_finished(batch_id, 60, stack)
    assert {get_game(g).status for g in games} == {"completed"}
    assert "WARNING" not in dispatch_status(stack).stderr


# --- rq-dashboard on every page -----------------------------------------------------------


class Dashboards:
    """rq-dashboard twice over the stack's Redis: at ``/rq`` of ``snakebench web`` and as
    the standalone ``rq-dashboard`` command with its defaults."""

    def __init__(self, stack: Stack, spawn: Callable[..., subprocess.Popen[bytes]]) -> None:
        web_port, standalone_port = free_port(), free_port()
        web = [sys.executable, "-m", "snakebench.cli", "web", "--port", str(web_port)]
        standalone = [
            str(Path(support.RQ).with_name("rq-dashboard")), "--bind", "127.0.0.1",
            "--port", str(standalone_port), "--redis-url", stack.env["REDIS_URL"],
        ]  # fmt: skip
        spawn(web, stack.env)
        spawn(standalone, stack.env)
        self.bases = {
            "snakebench web /rq": f"http://127.0.0.1:{web_port}/rq",
            "standalone rq-dashboard": f"http://127.0.0.1:{standalone_port}",
        }
        for port in (web_port, standalone_port):
            wait_until(lambda port=port: port_open("127.0.0.1", port), 60, f"port {port}")

    def walk(self, job_ids: list[str]) -> dict[str, dict[str, bytes]]:
        """Every page and data endpoint on both; fails naming each that is not a 200.
        Returns the bodies by dashboard and path."""
        paths = ["/", "/0/view/queues", "/0/view/workers", "/0/view/jobs",
                 "/0/data/queues.json", "/0/data/workers.json"]  # fmt: skip
        for queue in WORKER_QUEUES:
            for registry in DASHBOARD_REGISTRIES:
                paths.append(f"/0/view/jobs/{queue}/{registry}/8/asc/1")
                paths.append(f"/0/data/jobs/{queue}/{registry}/8/asc/1.json")
        for job_id in job_ids:
            paths += [f"/0/view/job/{job_id}", f"/0/data/job/{job_id}.json"]
        bodies: dict[str, dict[str, bytes]] = {}
        failures = []
        for label, base in self.bases.items():
            for path in paths:
                status, body = support.http_get(base + path)
                bodies.setdefault(label, {})[path] = body
                if status != 200:
                    failures.append(f"{label} {path}: {status} {body[-300:]!r}")
        assert not failures, "\n".join(failures)
        return bodies


@pytest.fixture
def slow_llm(stack: Stack) -> Iterator[FakeLLMServer]:
    """A model that takes its time (a second a move), one whose provider always fails
    (its games end void), and one whose key only the dispatcher has (its games fail)."""
    options = FakeOptions(latency_ms=1000, strategy="survivor", seed=1)
    with FakeLLMServer(options) as slow, FakeLLMServer(FakeOptions(error_rate=1.0)) as broken:
        upsert_model("slow", provider="openai", model_slug="slow/survivor",
                     base_url=f"{slow.url}/v1")  # fmt: skip
        upsert_model("broken", provider="openai", model_slug="broken", base_url=f"{broken.url}/v1")
        upsert_model("keyless", provider="openai", model_slug="keyless", base_url=f"{slow.url}/v1",
                     api_key_env="SB_ONLY_THE_DISPATCHER_HAS_IT")  # fmt: skip
        yield slow


def test_every_dashboard_page_answers_while_games_play_and_after(
    stack: Stack,
    slow_llm: FakeLLMServer,
    spawn: Callable[..., subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SB_ONLY_THE_DISPATCHER_HAS_IT", "sk-test-dispatcher-only")
    conn = stack.redis

    def submit(
        a: str, b: str, count: int, rounds: int = 20, at: datetime | None = None
    ) -> list[str]:
        batch = submit_batch(BatchSpec(a, b, count=count, max_rounds=rounds), conn, at=at)
        return batch_game_ids(batch.id)

    finished = submit("greedy", "random", 2)
    [failed] = submit("keyless", "random", 1)  # the workers lack its key
    [void] = submit("broken", "random", 1)  # its provider answers 500 to everything
    [scheduled] = submit("greedy", "random", 1, at=datetime.now(UTC) + timedelta(hours=1))
    cancelled = submit("greedy", "random", 2)
    cancel_batch(get_game(cancelled[0]).batch_id, conn)
    running = submit("slow", "survivor", 2, rounds=300)
    waiting = submit("greedy", "random", 3)  # queued behind the slow games
    # One hardened worker and one stock one, both with a scheduler.
    stack.start_workers(1)
    start_literal(stack, PLAIN_WORKER_COMMAND, "plain")

    def playing() -> bool:
        return all(get_game(g).status == "running" for g in running)

    wait_until(playing, 120, "both slow games to be running")
    ended = [*finished, failed, void]
    wait_until(lambda: all(get_game(g).status != "queued" for g in ended), 60, "the quick games")
    assert get_game(failed).status == "failed" and get_game(void).status == "void"

    dashboards = Dashboards(stack, spawn)
    everything = [*finished, failed, void, scheduled, cancelled[0], *running, waiting[0]]
    bodies = dashboards.walk(everything)
    info = subprocess.run([support.RQ, "info"], env=stack.env, capture_output=True, text=True)
    assert info.returncode == 0, info.stdout + info.stderr
    assert re.search(r"^games\s+\|", info.stdout, re.M) and "2 workers, " in info.stdout
    assert info.stdout.count(" busy") == 2, info.stdout
    for label, pages in bodies.items():
        workers = json.loads(pages["/0/data/workers.json"])["workers"]
        busy = [w["current_job"] for w in workers if w["current_job"] != "idle"]
        assert len(busy) == 2, (label, workers)
        assert all(job["call_string"].startswith("jobs.run_game.run_game(") for job in busy)
        failures = json.loads(pages["/0/data/jobs/games/failed/8/asc/1.json"])["jobs"]
        [failure] = [job for job in failures if job["id"] == failed]
        assert "GameFailedError" in failure["exc_info"], failure
        assert "MissingApiKeyError" in failure["exc_info"], failure
        result = json.loads(pages[f"/0/data/job/{void}.json"])["result"]
        assert result["status"] == "void" and result["error"], result
        queued = json.loads(pages["/0/data/jobs/games/queued/8/asc/1.json"])["jobs"]
        assert [job["id"] for job in queued] == waiting, (label, queued)
        for registry, job_id in (("scheduled", scheduled), ("canceled", cancelled[0])):
            listed = json.loads(pages[f"/0/data/jobs/games/{registry}/8/asc/1.json"])["jobs"]
            assert job_id in [job["id"] for job in listed], (label, registry, listed)

    # Stop the slow games (their jobs end "stopped"), let the rest finish; walk again.
    cancel_batch(get_game(running[0]).batch_id, conn)
    wait_until(lambda: all(get_game(g).status == "completed" for g in waiting), 120, "the rest")
    stopped = Job.fetch(running[0], connection=conn, serializer=SERIALIZER)
    wait_until(lambda: stopped.get_status(refresh=True) == "stopped", 30, "a stopped job")
    dashboards.walk(everything)


def test_the_cron_process_reconciles_what_redis_lost(stack: Stack) -> None:
    """`rq cron jobs.cron` (the Procfile's cron): after Redis loses every job, the games
    are enqueued again and played without anyone running `dispatch reconcile`."""
    stack.env["SNAKEBENCH_RECONCILE_EVERY"] = "2"
    batch_id = dispatch(stack, "--model-a", "greedy", "--model-b", "random", "--count", "6",
                        "--max-rounds", "30")  # fmt: skip
    stack.redis.flushdb()  # the jobs are gone; the database still has six queued games
    cron = start_literal(stack, "rq cron jobs.cron", "cron")
    start_literal(stack, PLAIN_WORKER_COMMAND, "plain")
    wait_finished(batch_id, 90, stack)
    support.terminate_processes([cron.process])  # no new reconcile job from here on
    high = Queue("games-high", connection=stack.redis, serializer=SERIALIZER)
    wait_until(lambda: high.count == 0, 30, "the last reconcile job to be taken")
    assert_batch_completed(batch_id, 6, stack.replay_dir, BOTS, stack.redis)
    runs = high.finished_job_registry.get_job_ids(cleanup=False)
    assert runs, "no reconcile job ran"
