"""Queue overhead: the same no-op job and the same 20-round bot game through RQ's
workers and through Celery on the same Redis, next to a loop that calls the job's
function in this process, all in one table (issue 8, part 1).

    python scripts/bench_queue.py [--quick] [--repeat K] [--concurrency 1,2]
    python scripts/bench_queue.py --counts   # SQL and Redis per game (bench_queue_counts)

Needs Celery, which is no runtime dependency: ``pip install -e ".[bench]"``.

The jobs: (i) a no-op (``bench_queue_rq.noop``, returns None); (ii) a stored
greedy-v-random game of 20 rounds, the same seed every time, played by
``jobs.run_game.run_game(game_id)``, the function the product's workers run, in every
path; (iii) with ``--kinds llm``, the same game with the fake provider's model in
greedy's seat (no latency: the same moves, through the OpenAI SDK). Each game job gets
its own game row (a played game is not played again), all with the rules ``dispatch``
stores (BatchSpec -> Rules), in a temporary SQLite file.

The paths, each with 1 and 2 workers (``--concurrency``; this machine has 2 cores):
- in-process loop, no queue: the baseline the overhead is measured against;
- RQ ``Worker``: the product's ``WORKER_COMMAND``, a work horse forked per job; this is
  "our plain RQ path";
- RQ ``Worker`` as a literal ``rq worker games``: none of WORKER_COMMAND's flags, so
  every horse imports the game code (and an LLM game's SDK) itself;
- RQ ``SimpleWorker`` (``-w rq.SimpleWorker``: jobs run in the worker, no fork);
- ``rq worker-pool -n N`` (one parent, N forked ``Worker``s, a horse per job);
- RQ ``ThreadWorker`` (``-w snakebench.queueing.thread_worker.ThreadWorker``, one thread per
  process), when that module exists; ``--rq-worker-class`` adds any other;
- Celery 5, prefork pool, with the original SnakeBench's settings
  (``scripts/bench_queue_celery.py``: JSON, prefetch multiplier 1, acks late, reject on
  worker lost, task events on, results in Redis) and its ``--max-tasks-per-child 10``
  (on 50 jobs a run: a recycled child stalls the pool for up to 5 s, celery/celery#9588);
  then the same without child recycling, and without events either (its cheapest).
The no-op rows of RQ run the same commands with ``-j bench_queue_rq.BenchJob`` (GameJob
refuses functions that are not SnakeBench's; this class lets the no-op through too).

How it measures, the same way for every queue: the workers are started, registered and
warmed up (a few untimed jobs) first. Then all the jobs are put in the queue where no
worker can take them yet: RQ's are built into one MULTI/EXEC pipeline exactly as
``enqueue_games`` builds them (pickle, job id, timeout, TTLs, retry policy); Celery's are
published while its worker's consumer is cancelled. The clock starts when they are let
go (the pipeline's EXEC; Celery's ``add_consumer`` broadcast) and stops when the last
job's end is recorded in Redis, polled every 10 ms: the count of RQ's finished and
failed registries; for Celery, its result backend, where a task's result lands when it
ends (the original kept results there too, so this costs Celery nothing extra). Neither
side's jobs write anything for the bench. Each cell is the best (fastest) of
``--repeat`` runs: other load on this shared machine only ever slows a run down.

Columns: per-job overhead = wall x workers / jobs - the in-process ms per job (what the
queue adds to each job's time on a worker); CPU ms per job of the worker processes and
everything they forked; Redis commands per job, submitting included, counted with
MONITOR on the bench's database in one more, untimed, run of 50 jobs; cores busy: ours
(the workers and this process) and the whole machine's.

Redis db 15 (RQ) and db 7 (Celery: broker and results) on 127.0.0.1:6379, claimed in
Redis as the tests claim theirs (so no test session uses them meanwhile), FLUSHED before
and after; every process started is
stopped (its descendants too), and the temporary folder removed (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import redis
from benchlib import CpuMeter, Procs, host_speed, table
from redis.connection import parse_url
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry

from snakebench.config import Settings
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.queueing import (
    QUEUE_NAMES,
    RUN_GAME,
    SERIALIZER,
    WORKER_COMMAND,
    _job_options,  # the product's job options: the bench's jobs are exactly its jobs
    connect_redis,
    job_timeout,
)
from snakebench.services.batches import BatchSpec, plan_batch, write_batch
from snakebench.store import batch_game_ids, database, open_store, upsert_model
from snakebench.testing.redis_monitor import CommandCounter
from snakebench.testing.support import RQ, claim_redis_db, holding, wait_for

SCRIPTS = Path(__file__).resolve().parent
CELERY = str(Path(sys.executable).with_name("celery"))
NOOP_JOB_CLASS = "bench_queue_rq.BenchJob"
THREAD_WORKER = "snakebench.queueing.thread_worker.ThreadWorker"
MAX_ROUNDS, SEED = 20, 1  # seed 1: greedy v random plays all 20 rounds
LLM = ("bench-llm", "random")  # the llm kind's players: a fake-provider model v a bot
POLL = 0.01  # seconds between checks for the last job's end
COUNTED_JOBS = 50  # jobs of the untimed run whose Redis commands are counted


# --- what is measured -----------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way of running the jobs: a row of the table per job kind and concurrency."""

    label: str
    queue: str  # "rq" or "celery"
    worker_class: str | None = None  # rq worker -w
    pool: bool = False  # rq worker-pool -n N instead of N rq worker processes
    env: dict[str, str] = field(default_factory=dict)
    recycle: bool = True  # Celery: the original's --max-tasks-per-child 10
    events: bool = True  # Celery: the original's task events
    max_jobs: int | None = None  # fewer jobs per run than the others (a slow row)
    plain: bool = False  # RQ: a literal `rq worker games`, none of WORKER_COMMAND's flags


def variants(args: argparse.Namespace) -> list[Variant]:
    """Every queue path measured, in table order (``--only`` filters them by label).
    One more RQ worker class is one more line here, or ``--rq-worker-class``."""
    rows = [
        Variant("RQ Worker: WORKER_COMMAND", "rq"),
        Variant("RQ Worker: plain `rq worker games`", "rq", plain=True),
        Variant("RQ SimpleWorker", "rq", worker_class="rq.SimpleWorker"),
        Variant("rq worker-pool -n N", "rq", pool=True),
    ]
    if importlib.util.find_spec(THREAD_WORKER.rsplit(".", 1)[0]) is not None:
        threads = {"SNAKEBENCH_WORKER_THREADS": "1"}
        rows.append(Variant("RQ ThreadWorker, 1 thread", "rq", THREAD_WORKER, env=threads))
    rows += [Variant(f"RQ -w {name}", "rq", worker_class=name) for name in args.rq_worker_class]
    rows += [
        # A recycled child costs this Celery ~5 s (celery/celery#9588): 50 jobs are enough.
        Variant("Celery: original's settings", "celery", max_jobs=50),
        Variant("Celery: same, no child recycling", "celery", recycle=False),
        Variant("Celery: no recycling, no events", "celery", recycle=False, events=False),
    ]
    return [v for v in rows if not args.only or any(s in v.label for s in args.only)]


@dataclass(frozen=True)
class Kind:
    """A job kind: its name (``--kinds``), label, how many jobs a run times, and
    whether it plays games."""

    name: str
    label: str
    count: int
    game: bool
    players: tuple[str, str] = ("greedy", "random")


@dataclass
class Run:
    """One run of ``jobs`` jobs."""

    jobs: int
    ok: int
    seconds: float
    worker_cpu: float  # seconds, the workers and what they forked
    cores_ours: float
    cores_machine: float
    timed_out: bool = False
    redis_commands: float | None = None  # per job, from the counted run
    by_command: dict[str, float] = field(default_factory=dict)  # the same, by name


class Staged(Protocol):
    """Jobs submitted where no worker can take them yet."""

    polls: int  # Redis commands the bench itself sent to learn how many ended

    def release(self) -> None: ...
    def ended(self) -> tuple[int, int]: ...  # (ok, failed) so far


Stage = Callable[[int], Staged]  # stage(count): that many new jobs, staged


# --- the environment ------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    settings: Settings
    rq: redis.Redis
    celery: redis.Redis
    procs: Procs
    stack: ExitStack  # what the bench holds until it ends (the fake provider)

    def worker_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        path = [str(SCRIPTS), *filter(None, [env.get("PYTHONPATH")])]
        env.update(
            DATABASE_URL=self.settings.database_url,
            REDIS_URL=self.args.redis_url,
            SNAKEBENCH_REPLAY_DIR=str(self.settings.replay_dir),
            PYTHONPATH=os.pathsep.join(path),
            BENCH_CELERY_URL=self.args.celery_url,
            **extra,
        )
        return env

    def games(self, kind: Kind, count: int) -> list[str]:
        """``count`` new stored games of ``kind.players`` (greedy v random, or the fake
        LLM playing greedy v random) with seed :data:`SEED`, under the rules
        ``dispatch`` would store for ``--max-rounds 20``."""
        spec = BatchSpec(*kind.players, count=1, max_rounds=MAX_ROUNDS, seed=SEED)
        plan = plan_batch(spec, self.settings)
        batch = write_batch(spec, plan.games * count, {"bench": "queue"})
        return batch_game_ids(batch.id, ("queued",))

    def job_args(self, kind: Kind, count: int) -> list[tuple[str, ...]]:
        return [(gid,) for gid in self.games(kind, count)] if kind.game else [()] * count


def run_jobs(roots: list[int], staged: Staged, jobs: int, poll: float = POLL) -> Run:
    """Let ``staged`` go and wait for the last of its ``jobs`` jobs to end."""
    meter = CpuMeter(roots)
    deadline = time.monotonic() + 60 + jobs * 0.2
    start = time.perf_counter()
    staged.release()
    ok, failed = staged.ended()
    while ok + failed < jobs and time.monotonic() < deadline:
        time.sleep(poll)
        ok, failed = staged.ended()
    seconds = time.perf_counter() - start
    workers, this, machine = meter.cores()
    return Run(
        jobs=jobs,
        ok=ok,
        seconds=seconds,
        worker_cpu=workers * seconds,
        cores_ours=workers + this,
        cores_machine=machine,
        timed_out=ok + failed < jobs,
    )


def measure_cell(bench: Bench, url: str, roots: list[int], stage: Stage, kind: Kind) -> Run:
    """A few untimed warm-up jobs, the best of ``--repeat`` timed runs, and one more
    untimed run whose Redis commands are counted."""
    run_jobs(roots, stage(2 * len(roots) + 2), 2 * len(roots) + 2)
    runs = [run_jobs(roots, stage(kind.count), kind.count) for _ in range(bench.args.repeat)]
    best = best_of(runs)
    count = min(COUNTED_JOBS, kind.count)
    with CommandCounter(url) as counter:
        staged = stage(count)  # submitting counts too
        run_jobs(roots, staged, count, poll=0.1)
    best.redis_commands = (sum(counter.counts.values()) - staged.polls) / count
    best.by_command = {name: n / count for name, n in counter.counts.most_common()}
    return best


def best_of(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: (r.timed_out, r.ok < r.jobs, r.seconds))


def started(predicate: Callable[[], object], what: str) -> bool:
    """Whether ``predicate`` comes true within two minutes (workers registering)."""
    try:
        wait_for(predicate, 120, what, interval=0.2)
    except TimeoutError:
        return False
    return True


# --- in-process baseline --------------------------------------------------------------


def in_process(bench: Bench, kind: Kind) -> Run:
    """The job's function called in a loop in this process: no queue, no fork."""
    print(f"  {kind.label}: in-process loop", flush=True)
    from bench_queue_rq import noop

    from jobs.run_game import run_game

    runs = []
    for _ in range(bench.args.repeat):
        calls: list[Callable[[], object]] = (
            [functools.partial(run_game, gid) for (gid,) in bench.job_args(kind, kind.count)]
            if kind.game
            else [noop] * kind.count
        )
        meter, cpu0 = CpuMeter([]), time.process_time()
        start = time.perf_counter()
        for call in calls:
            call()
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        _, this, machine = meter.cores()
        runs.append(Run(kind.count, kind.count, seconds, cpu, this, machine))
    database.close()
    return best_of(runs)


# --- RQ -------------------------------------------------------------------------------


def rq_commands(variant: Variant, kind: Kind, workers: int, url: str) -> list[list[str]]:
    """WORKER_COMMAND (this venv's ``rq``, the bench's Redis) as ``variant`` runs it:
    N ``rq worker`` processes or one ``rq worker-pool -n N``; the no-op's job class. A
    plain variant is ``rq worker games`` (plus the bench's ``--url``) and nothing else."""
    if variant.plain:
        words = [QUEUE_NAMES["normal"]] + ([] if kind.game else ["-P", str(SCRIPTS)])
    else:
        words = shlex.split(WORKER_COMMAND)[2:]
    if not kind.game and not variant.plain:
        words[words.index("-j") + 1] = NOOP_JOB_CLASS
        words[:0] = ["-P", str(SCRIPTS)]
    if variant.worker_class:
        if "-w" in words:  # WORKER_COMMAND's own class gives way to the variant's
            del words[words.index("-w") : words.index("-w") + 2]
        words += ["-w", variant.worker_class]
    words += ["--url", url]
    if variant.pool:
        words.remove("--with-scheduler")  # a pool's workers always run one
        return [[RQ, "worker-pool", "-n", str(workers), *words]]
    return [[RQ, "worker", *words] for _ in range(workers)]


class RqStaged:
    """RQ jobs built exactly as ``enqueue_games`` builds them, into one MULTI/EXEC
    pipeline: no worker sees any of them before :meth:`release` runs it."""

    def __init__(self, connection: redis.Redis, kind: Kind, args: list[tuple[str, ...]]) -> None:
        from bench_queue_rq import NOOP

        queue = Queue(QUEUE_NAMES["normal"], connection=connection, serializer=SERIALIZER)
        options = _job_options(job_timeout(MAX_ROUNDS))
        datas = [
            Queue.prepare_data(
                RUN_GAME if kind.game else NOOP,
                args=a,
                job_id=a[0] if kind.game else str(uuid.uuid4()),
                **options,
            )
            for a in args
        ]
        self.connection = connection
        self.keys = [
            FinishedJobRegistry(queue.name, connection=connection).key,
            FailedJobRegistry(queue.name, connection=connection).key,
        ]
        self.polls = 0
        self.before = self._counts()
        self.pipe = connection.pipeline()
        queue.enqueue_many(datas, pipeline=self.pipe)

    def _counts(self) -> tuple[int, int]:
        self.polls += len(self.keys)
        with self.connection.pipeline(transaction=False) as pipe:
            for key in self.keys:
                pipe.zcard(key)
            finished, failed = pipe.execute()
        return int(finished), int(failed)

    def release(self) -> None:
        self.pipe.execute()

    def ended(self) -> tuple[int, int]:
        finished, failed = self._counts()
        return finished - self.before[0], failed - self.before[1]


def rq_cell(bench: Bench, variant: Variant, kind: Kind, workers: int) -> Run | str:
    """``kind`` through ``variant`` with ``workers`` workers, or why not."""
    env = bench.worker_env(variant.env)
    procs = [
        bench.procs.start(command, env)
        for command in rq_commands(variant, kind, workers, bench.args.redis_url)
    ]
    try:
        if not started(lambda: Worker.count(connection=bench.rq) >= workers, "RQ workers"):
            return f"only {Worker.count(connection=bench.rq)}/{workers} workers started"

        def stage(count: int) -> Staged:
            return RqStaged(bench.rq, kind, bench.job_args(kind, count))

        return measure_cell(bench, bench.args.redis_url, [p.pid for p in procs], stage, kind)
    finally:
        bench.procs.stop()
        bench.rq.flushdb()  # workers gone: nothing of theirs left for the next row


# --- Celery ---------------------------------------------------------------------------


def celery_command(variant: Variant, workers: int, node: str) -> list[str]:
    """The original's worker (``celery -A celery_app worker --concurrency=10
    --max-tasks-per-child=10``) with N pool processes and this bench's app."""
    command = [CELERY, "-A", "bench_queue_celery", "worker", "--pool", "prefork"]
    command += ["--concurrency", str(workers), "--loglevel", "INFO", "-n", node]
    return command + (["--max-tasks-per-child", "10"] if variant.recycle else [])


class CeleryStaged:
    """Celery tasks published while the worker's consumer is cancelled; :meth:`release`
    lets the worker consume again. Ends are read from the result backend."""

    def __init__(self, app: Any, node: str, kind: Kind, args: list[tuple[str, ...]]) -> None:
        self.app, self.node = app, node
        app.control.cancel_consumer("celery", destination=[node], reply=True, timeout=10)
        task = "bench.run_game" if kind.game else "bench.noop"
        with app.producer_or_acquire() as producer:
            ids = [app.send_task(task, args=a, producer=producer).id for a in args]
        self.keys = [app.backend.get_key_for_task(i) for i in ids]
        self.pending = list(self.keys)
        self.client: redis.Redis = app.backend.client
        self.polls = 0

    def release(self) -> None:
        self.app.control.add_consumer("celery", destination=[self.node])

    def ended(self) -> tuple[int, int]:
        """Tasks end about first in, first out: look at the oldest pending ones only."""
        head = self.pending[:256]
        if head:
            self.polls += 1
            found = {k for k, v in zip(head, self.client.mget(head), strict=True) if v}
            self.pending = [k for k in self.pending if k not in found]
        done = len(self.keys) - len(self.pending)
        if self.pending:
            return done, 0
        self.polls += 1
        states = [json.loads(v or "{}").get("status") for v in self.client.mget(self.keys)]
        ok = states.count("SUCCESS")
        return ok, done - ok


def celery_cell(bench: Bench, variant: Variant, kind: Kind, workers: int) -> Run | str:
    """``kind`` through a Celery worker with ``workers`` pool processes, or why not."""
    from bench_queue_celery import make_app

    app = make_app(bench.args.celery_url, events=variant.events)
    node = f"bench-{uuid.uuid4().hex[:8]}@bench"
    env = bench.worker_env({"BENCH_CELERY_EVENTS": "1" if variant.events else "0"})
    process = bench.procs.start(celery_command(variant, workers, node), env)
    try:
        if not started(lambda: app.control.ping(destination=[node], timeout=1.0), "Celery"):
            return "worker did not start"

        def stage(count: int) -> Staged:
            return CeleryStaged(app, node, kind, bench.job_args(kind, count))

        return measure_cell(bench, bench.args.celery_url, [process.pid], stage, kind)
    finally:
        bench.procs.stop()
        app.close()
        bench.celery.flushdb()


# --- the table ------------------------------------------------------------------------


HEADER = [
    "job: path",
    "workers",
    "jobs",
    "seconds",
    "jobs/s",
    "overhead ms/job",
    "worker CPU ms/job",
    "Redis cmds/job",
    "cores: ours / machine",
]


def row(label: str, workers: int, run: Run | str, base_ms: float | None) -> list[str]:
    if isinstance(run, str):
        return [label, str(workers), "-", run, *[""] * (len(HEADER) - 4)]
    per_job = run.seconds * workers / max(run.ok, 1) * 1000
    jobs = f"{run.ok:,}" if run.ok == run.jobs else f"{run.ok:,}/{run.jobs:,}"
    return [
        label,
        str(workers),
        jobs + (" (timed out)" if run.timed_out else ""),
        f"{run.seconds:.2f}",
        f"{run.ok / run.seconds:,.0f}",
        "-" if base_ms is None else f"{per_job - base_ms:.1f}",
        f"{run.worker_cpu / max(run.ok, 1) * 1000:.1f}",
        "-" if run.redis_commands is None else f"{run.redis_commands:.1f}",
        f"{run.cores_ours:.2f} / {run.cores_machine:.2f}",
    ]


def kind_rows(bench: Bench, kind: Kind, base: Run) -> list[list[str]]:
    """The table's rows for one job kind: its in-process ``base``, then every path."""
    base_ms = base.seconds / base.jobs * 1000
    rows = [row(f"{kind.label}: in-process loop, no queue", 1, base, None)]
    for workers in bench.args.concurrency:
        for variant in variants(bench.args):
            print(f"  {kind.label}: {variant.label}, {workers} worker(s)", flush=True)
            cell = rq_cell if variant.queue == "rq" else celery_cell
            count = min(kind.count, variant.max_jobs or kind.count)
            run = cell(bench, variant, replace(kind, count=count), workers)
            rows.append(row(f"{kind.label}: {variant.label}", workers, run, base_ms))
            if bench.args.commands and isinstance(run, Run):
                names = ", ".join(f"{k} {n:.2f}" for k, n in run.by_command.items())
                print(f"    Redis commands per job (the bench's polls included): {names}")
    return rows


def header_line(bench: Bench) -> str:
    packages = ("rq", "redis") if bench.args.counts else ("rq", "redis", "celery", "kombu")
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    server = bench.rq.info("server")["redis_version"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, load average {load}; Python {sys.version.split()[0]}, "
        f"{versions}, Redis server {server}; code: {code_state()}"
    )


def code_state() -> str:
    """HEAD, and which files of the measured code differ from it."""

    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], cwd=SCRIPTS, capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "../snakebench", "../jobs").splitlines()
    return head + (f" + uncommitted {', '.join(line[3:] for line in dirty)}" if dirty else "")


# --- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--repeat", type=int, help="timed runs per cell, the best kept (3)")
    parser.add_argument("--noops", type=int, help="no-op jobs per run (1,000)")
    parser.add_argument("--games", type=int, help="bot games per run (300)")
    parser.add_argument("--llm-games", type=int, help="fake-LLM games per run (100)")
    parser.add_argument("--concurrency", help="worker counts, comma-separated (1,2)")
    parser.add_argument("--kinds", default="noop,game", help="job kinds (noop,game,llm)")
    parser.add_argument("--only", action="append", default=[], help="paths whose label has this")
    parser.add_argument(
        "--rq-worker-class",
        action="append",
        default=[],
        help="one more RQ row with this -w class (importable with scripts/ on the path)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15", help="RQ's")
    parser.add_argument("--celery-url", default="redis://127.0.0.1:6379/7", help="Celery's")
    parser.add_argument("--commands", action="store_true", help="print Redis commands by name")
    parser.add_argument(
        "--counts",
        action="store_true",
        help="only the SQL statements and Redis commands per game (seconds; no Celery)",
    )
    parser.add_argument("--count-games", type=int, default=10, help="games per --counts row")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.counts and args.kinds == "noop,game":
        args.kinds = "game,llm"
    quick = args.quick
    args.repeat = args.repeat or (1 if quick else 3)
    args.noops = args.noops or (50 if quick else 1000)
    args.games = args.games or (20 if quick else 300)
    args.llm_games = args.llm_games or (10 if quick else 100)
    args.concurrency = [int(n) for n in (args.concurrency or ("1" if quick else "1,2")).split(",")]
    if quick and not args.only:
        args.only = ["WORKER_COMMAND", "no child recycling"]
    return args


@contextmanager
def held_redis(url: str) -> Iterator[redis.Redis]:
    """The database ``url``, flushed before and after, claimed meanwhile as the tests
    claim theirs: no test session is handed it, and one holding it is not flushed
    (RedisDatabaseTaken instead)."""
    db = int(parse_url(url).get("db", 0))
    with holding(claim_redis_db(url, db=db)), closing(connect_redis(url)) as conn:
        yield conn


def main() -> int:
    args = parse_args()
    if not args.counts and importlib.util.find_spec("celery") is None:
        print('bench_queue: Celery is not installed: pip install -e ".[bench]"')
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    settings = Settings(
        redis_url=args.redis_url,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        replay_dir=tmp / "replays",
    )
    # The in-process baseline calls run_game, which reads its settings from here.
    os.environ.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=args.redis_url,
        SNAKEBENCH_REPLAY_DIR=str(settings.replay_dir),
        BENCH_CELERY_URL=args.celery_url,
    )
    sys.path.insert(0, str(SCRIPTS))
    started = time.perf_counter()
    with ExitStack() as stack:
        rq_conn = stack.enter_context(held_redis(args.redis_url))
        celery_conn = stack.enter_context(held_redis(args.celery_url))
        bench = Bench(args, tmp, settings, rq_conn, celery_conn, Procs(tmp), stack)
        stack.callback(cleanup, bench)
        open_store(settings)
        print(f"bench_queue: {header_line(bench)}; work in {tmp}", flush=True)
        before = host_speed()
        print(f"  {before}", flush=True)
        (report_counts if args.counts else report)(bench)
        print(f"  ({time.perf_counter() - started:.0f} s in all)")
        print(f"  before: {before}\n  after:  {host_speed()}")
    return 0


def report(bench: Bench) -> None:
    """Measure every row and print the table."""
    args = bench.args
    kinds = [
        Kind("noop", "no-op", args.noops, game=False),
        Kind("game", f"{MAX_ROUNDS}-round game", args.games, game=True),
        Kind("llm", f"{MAX_ROUNDS}-round LLM game", args.llm_games, game=True, players=LLM),
    ]
    kinds = [kind for kind in kinds if kind.name in args.kinds.split(",")]
    if any(kind.players == LLM for kind in kinds):
        bench.stack.enter_context(fake_llm_model())
    # Baselines first, while this process holds no more than a worker would.
    bases = [in_process(bench, kind) for kind in kinds]
    rows = [r for k, base in zip(kinds, bases, strict=True) for r in kind_rows(bench, k, base)]
    table(
        f"queue overhead: the same job through each path, best of {args.repeat} run(s); "
        f"RQ on {args.redis_url}, Celery on {args.celery_url}",
        HEADER,
        rows,
    )
    print(
        "  overhead: wall x workers / jobs - the in-process ms per job; worker CPU: the\n"
        "  worker processes and all they forked; Redis cmds: per job, submitting included,\n"
        f"  counted with MONITOR in an extra run of {COUNTED_JOBS} jobs; cores: ours = the\n"
        f"  workers + this process, machine = all {os.cpu_count()} cores (the rest is other load)"
    )


def report_counts(bench: Bench) -> None:
    """``--counts``: SQL statements and Redis commands per game, on the product's worker
    paths, beside the baseline's (:mod:`bench_queue_counts`)."""
    import bench_queue_counts

    kinds = [
        Kind(name, f"{MAX_ROUNDS}-round {label}", bench.args.count_games, game=True, players=p)
        for name, label, p in (("game", "game", ("greedy", "random")), ("llm", "LLM game", LLM))
        if name in bench.args.kinds.split(",")
    ]
    if any(kind.players == LLM for kind in kinds):
        bench.stack.enter_context(fake_llm_model())
    paths = [
        v
        for v in variants(bench.args)
        if v.label == "RQ Worker: WORKER_COMMAND" or v.worker_class == THREAD_WORKER
    ]
    bench_queue_counts.report(bench, kinds, paths)


@contextmanager
def fake_llm_model() -> Iterator[None]:
    """:data:`LLM`'s model: the fake provider at no latency, playing greedy through the
    OpenAI SDK, so an LLM game's moves (and its length) are the bot game's, and what
    differs is the SDK: imported, client built, two calls a round."""
    with FakeLLMServer(FakeOptions(strategy="greedy")) as server:
        upsert_model(LLM[0], provider="openai-compatible", model_slug="bench/greedy",
                     base_url=f"{server.url}/v1")  # fmt: skip
        yield


def cleanup(bench: Bench) -> None:
    bench.procs.stop()
    if not database.is_closed():
        database.close()
    if not bench.args.keep:
        shutil.rmtree(bench.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
