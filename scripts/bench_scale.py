"""Latency-bound scale: LLM games per minute at 8 to 256 concurrent games, against the
ideal, for one game per process and for several games per process.

    python scripts/bench_scale.py [--quick] [--concurrency 8 16 32 64 128 256]

A game waits on two model replies per round, so the most it can do is one round per
"slower of the two moves". ``snakebench fake-llm --latency-ms 300 --jitter-ms 100``
(a separate process, as a user runs it) answers every move after 300 ms + U(0, 100) ms,
so the ideal for N concurrent 100-round games is ``N / (100 x 0.3667 s)`` games per
minute, 0.3667 s being the mean of the slower of two such moves. Each row plays
enough games to keep N running through a measuring window and counts rounds from the
fake server's move counter (2 moves a round): partial games count, so games that end
early (a snake dies) do not distort it. Two ways to run N games, each row's
baseline being the ideal and the other way:

- ``pool``: ``rq worker-pool -n N`` with the documented worker command: N worker
  processes, each forking a work horse per game (RQ's default ``Worker``);
- ``threads``: ``rq worker-pool -n 2 -w snakebench.queueing.thread_worker.ThreadWorker`` with
  ``SNAKEBENCH_WORKER_THREADS = N / 2``: one process per core, N/2 games each.

The workers' CPU per round (their process trees' CPU time over the rounds counted) is
printed beside :data:`BASELINE_CPU_MS`, what a round cost before the request of a move
was built once per model (``scripts/bench_round.py`` breaks a round down): unlike the
rate, it hardly moves when other load shares the machine.

Memory is the Pss (shared pages split among sharers) of every process of the
workers, summed, sampled mid-window: real memory per concurrent game. It uses Redis
db 3 on 127.0.0.1:6379 (FLUSHED) and a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import redis
from benchlib import CpuMeter, Procs, descendants, host_speed, pss_kb, table, wait_workers
from rq import Worker

from snakebench.config import Settings
from snakebench.queueing import WORKER_COMMAND
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    cancel_batch,
    create_batch_games,
    enqueue_batch,
)
from snakebench.store import database, open_store, upsert_model
from snakebench.testing.support import bench_redis

BIN = Path(sys.executable).parent
LATENCY_MS, JITTER_MS = 300.0, 100.0
MEAN_SLOWER_MOVE = (LATENCY_MS + 2 * JITTER_MS / 3) / 1000  # E[max of two U(0, jitter)]
ROUNDS = 100
FAKE_KEY = "sk-bench-not-a-secret"
# Worker CPU ms per round before the move's request was built once per model: ThreadWorker,
# 4 processes, 64 and 128 games (docs/PERFORMANCE.md, part 2: 4.6 and 4.3).
BASELINE_CPU_MS = 4.6


@dataclass
class Run:
    """What one bench run shares: its folder, database, Redis, fake server, processes."""

    args: argparse.Namespace
    tmp: Path
    settings: Settings
    redis: redis.Redis
    procs: Procs  # the workers of the row being measured
    fake: Procs  # the fake provider, for the whole run
    fake_url: str = ""
    fake_pid: int = 0

    def env(self, threads: int = 0) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=self.args.redis_url,
            SNAKEBENCH_REPLAY_DIR=str(self.settings.replay_dir),
            OPENAI_API_KEY=FAKE_KEY,
        )
        if threads:
            env["SNAKEBENCH_WORKER_THREADS"] = str(threads)
        return env

    def moves(self) -> int:
        with urllib.request.urlopen(f"{self.fake_url}/stats", timeout=10) as reply:
            return int(json.load(reply)["total"]["requests"])


def start_fake(run: Run) -> None:
    """``snakebench fake-llm`` on a free port, and the two models pointing at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [str(BIN / "snakebench"), "fake-llm", "--port", str(port)]
    argv += ["--latency-ms", f"{LATENCY_MS:g}", "--jitter-ms", f"{JITTER_MS:g}"]
    run.fake_pid = run.fake.start(argv, run.env()).pid
    run.fake_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            run.moves()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the fake provider did not start") from None
            time.sleep(0.2)
    for name in ("fake-a", "fake-b"):
        upsert_model(name, provider="openai", model_slug=name, base_url=f"{run.fake_url}/v1")


def worker_argv(run: Run, processes: int, threaded: bool) -> list[str]:
    """The documented WORKER_COMMAND as ``rq worker-pool -n processes`` (+ ``-w``)."""
    words = shlex.split(WORKER_COMMAND)[2:]
    words.remove("--with-scheduler")  # pool workers run the scheduler themselves
    if threaded:
        words += ["-w", "snakebench.queueing.thread_worker.ThreadWorker"]
    return [str(BIN / "rq"), "worker-pool", "-n", str(processes), *words, "-u", run.args.redis_url]


@dataclass
class Window:
    """What one measuring window saw."""

    seconds: float
    rounds: float
    running: list[int]
    cores: tuple[float, float, float]  # workers, fake server, machine
    pss_kb: int
    processes: int


def measure(run: Run, concurrency: int, threaded: bool) -> Window | str:
    """Start the workers, keep ``concurrency`` games running, measure one window."""
    run.redis.flushdb()
    processes = run.args.processes if threaded else concurrency
    threads = math.ceil(concurrency / processes) if threaded else 0
    pool = run.procs.start(worker_argv(run, processes, threaded), run.env(threads))
    try:
        if not wait_workers(run.redis, processes, 120):
            return f"only {Worker.count(connection=run.redis)} of {processes} workers started"
        games = concurrency * (int(run.args.window / 20) + 3)  # games end early: spares
        spec = BatchSpec("fake-a", "fake-b", count=games, max_rounds=ROUNDS, seed=concurrency)
        batch = create_batch_games(spec, run.settings)
        enqueue_batch(batch.id, run.redis, settings=run.settings)
        time.sleep(run.args.warmup)
        workers, server = CpuMeter([pool.pid]), CpuMeter([run.fake_pid])
        start, moves0, running = time.monotonic(), run.moves(), []
        pss, half = 0, start + run.args.window / 2
        while time.monotonic() < start + run.args.window:
            running.append(batch_progress(batch.id).running)
            if not pss and time.monotonic() >= half:
                pss = sum(pss_kb(pid) for pid in [pool.pid, *descendants(pool.pid)])
            time.sleep(0.5)
        seconds, moves = time.monotonic() - start, run.moves() - moves0
        (cores, _, machine), (fake_cores, _, _) = workers.cores(), server.cores()
        cancel_batch(batch.id, run.redis)
        return Window(seconds, moves / 2, running, (cores, fake_cores, machine), pss, processes)
    finally:
        run.procs.stop(grace=20)


def row(label: str, concurrency: int, seen: Window | str) -> list[str]:
    if isinstance(seen, str):
        return [label, str(concurrency), seen, *[""] * 9]
    rate, ideal = seen.rounds / seen.seconds, concurrency / MEAN_SLOWER_MOVE
    workers, fake, machine = seen.cores
    return [
        label,
        str(concurrency),
        str(seen.processes),
        f"{statistics.mean(seen.running):.1f}/{max(seen.running)}",
        f"{rate:.1f}",
        f"{ideal:.1f}",
        f"{rate / ideal:.0%}",
        f"{rate * 60 / ROUNDS:.1f}",
        f"{ideal * 60 / ROUNDS:.1f}",
        f"{workers:.2f} / {fake:.2f} / {machine:.2f}",
        f"{workers / rate * 1000:.1f} ({workers / rate * 1000 / BASELINE_CPU_MS:.0%})",
        f"{seen.pss_kb / 1024:,.0f} ({seen.pss_kb / 1024 / concurrency:.1f})",
    ]


HEADER = [
    "workers",
    "N games",
    "processes",
    "running mean/max",
    "rounds/s",
    "ideal",
    "efficiency",
    "games/min",
    "ideal/min",
    "cores: workers / fake / machine",
    f"worker CPU ms/round (of {BASELINE_CPU_MS} before)",
    "Pss MB (per game)",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--variants", default="pool,threads", help="pool, threads or both")
    parser.add_argument("--window", type=float, default=45.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before a window")
    parser.add_argument(
        "--processes", type=int, default=2, help="ThreadWorker processes (default: 2, a core each)"
    )
    parser.add_argument("--quick", action="store_true", help="8 and 16 games, 15 s windows")
    parser.add_argument(
        "--redis-url",
        help="a Redis database to use (flushed!); default: a free one of 127.0.0.1:6379, "
        "claimed for the run",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.concurrency, args.window, args.warmup = [8, 16], 15.0, 5.0
    unknown = set(args.variants.split(",")) - {"pool", "threads"}
    if unknown or min(args.concurrency) < 1 or args.processes < 1:
        parser.error(f"--variants takes pool and/or threads, not {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    args = parse_args()
    with bench_redis(args.redis_url) as url:
        args.redis_url = url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-scale-"))
    settings = Settings(
        redis_url=args.redis_url,
        database_url=f"sqlite:///{tmp / 'scale.db'}",
        replay_dir=tmp / "replays",
    )
    run = Run(args, tmp, settings, redis.Redis.from_url(args.redis_url), Procs(tmp), Procs(tmp))
    open_store(settings)
    os.environ["OPENAI_API_KEY"] = FAKE_KEY  # batch creation checks the models' keys
    rows = []
    speeds = [host_speed()]
    print(speeds[0], flush=True)
    try:
        start_fake(run)
        for concurrency in args.concurrency:
            for variant in args.variants.split(","):
                threaded = variant == "threads"
                label = "ThreadWorker" if threaded else "pool (fork per game)"
                seen = measure(run, concurrency, threaded)
                rows.append(row(label, concurrency, seen))
                print("  ".join(rows[-1]), flush=True)
    finally:
        run.procs.stop()
        run.fake.stop()
        run.redis.flushdb()
        database.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    table(
        f"LLM v LLM games, fake provider {LATENCY_MS:.0f} ms + U(0, {JITTER_MS:.0f}) ms per "
        f"move, {ROUNDS}-round games, SQLite; {args.window:.0f} s window per row",
        HEADER,
        rows,
    )
    print(
        f"  ideal rounds/s = N / {MEAN_SLOWER_MOVE:.4f} s; games/min counts {ROUNDS}-round "
        "games;\n  cores busy in the window: the workers' process trees, the fake "
        "server, the whole machine\n  (2 cores; the rest is other load); Pss sampled "
        "mid-window over every worker process"
    )
    speeds.append(host_speed())
    print(f"  before: {speeds[0]}\n  after:  {speeds[1]}")


if __name__ == "__main__":
    main()
