"""Dispatch and workers: submitting, monitoring and playing games through RQ with
real ``rq worker`` processes, each figure next to its baseline from the same run.

    python scripts/bench_dispatch.py [--quick] [--parts abce]

(a) seconds to submit 10,000 and 100,000 games (game rows + jobs) on SQLite and
    PostgreSQL, against creating and enqueueing one game at a time (measured on 1,000
    games, extrapolated);
(b) the monitor at 100, 10,000 and 100,000 games: one refresh (``batch_progress``, one
    row) and one full pass of the ``dispatch monitor`` loop (query, budget and worker
    checks, redraw on a rich Console writing to /dev/null), against counting the
    batch's games by status; plus the ``reconcile`` that ``dispatch monitor`` runs
    once at its start, with the jobs in Redis and after a lost Redis;
(c) bot games per minute (greedy v random, 100 rounds) with 1, 2, 4, 8 ``rq worker``
    processes, with the bare worker command and with one that preloads the job
    module, against one process playing the games with no queue;
(d) moved to ``scripts/bench_scale.py`` (LLM games at 8 to 128 concurrent games);
(e) end to end: 1,000 bot games through the README's command (``python -m
    snakebench.dispatch --model-a greedy --model-b random --count 1000 --local
    --monitor``) run in a fresh folder as a new user would (its own SQLite, private
    Redis and workers): wall time, games/s while playing, games by status, against
    the same seeds played in this process with no queue and the ideal for the cores.

``--quick``: 1,000 and 2,000 games in (a) and (b), 100 in (e), fewer workers in (c).
It uses Redis db 6 on 127.0.0.1:6379 (FLUSHED; part (b) holds ~110,000 jobs there at
its peak; not a db the tests use) and the PostgreSQL server on 127.0.0.1:5432 (a throw-away
database, dropped at the end); PostgreSQL rows are skipped when it is not there.
Every part has a deadline, and every process it starts is stopped by pid before the
next part begins.
"""

from __future__ import annotations

import argparse
import functools
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

import peewee as pw
import psycopg2
import redis
from benchlib import CpuMeter, Procs, family_cpu, status_kb, table, wait_workers
from rich.console import Console

from snakebench.cli.monitor import BatchView, Notices
from snakebench.config import Settings
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.queueing import WORKER_COMMAND, connect_redis, enqueue_games
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    create_batch_games,
    enqueue_batch,
    latest_batch_id,
    plan_batch,
    write_batch,
)
from snakebench.services.reconcile import reconcile
from snakebench.store import (
    Game,
    NewGame,
    batch_game_ids,
    batch_timespan,
    database,
    get_batch,
    open_store,
    utcnow,
)
from snakebench.testing.query_log import counted_statements
from snakebench.testing.support import bench_redis, pg_url, process_table, throwaway_pg_database

RQ = str(Path(sys.executable).with_name("rq"))
FAKE_KEY = "sk-bench-not-a-secret"

# --- the environment ------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    redis: redis.Redis
    procs: Procs
    cleanup: ExitStack = field(default_factory=ExitStack)  # throw-away PostgreSQL databases
    stores: list[tuple[str, str]] = field(default_factory=list)  # (backend, URL)
    big_batches: dict[str, str] = field(default_factory=dict)  # 'backend/size' -> part (a)'s batch

    def settings(self, url: str) -> Settings:
        return Settings(
            redis_url=self.args.redis_url, database_url=url, replay_dir=self.tmp / "replays"
        )

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.tmp / name}.db"

    def postgres_url(self) -> str | None:
        """A fresh PostgreSQL database, or None when the server cannot be reached."""
        try:
            name = self.cleanup.enter_context(throwaway_pg_database("sb_bench"))
        except psycopg2.OperationalError as exc:
            print(f"  (PostgreSQL skipped: {str(exc).strip().splitlines()[0]})")
            return None
        return pg_url(name)

    def worker_env(self, url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(
            DATABASE_URL=url,
            REDIS_URL=self.args.redis_url,
            SNAKEBENCH_REPLAY_DIR=str(self.tmp / "replays"),
            OPENAI_API_KEY=FAKE_KEY,
            SNAKEBENCH_MOVE_TIMEOUT="10",
        )
        return env

    def worker_command(self, preload: bool) -> list[str]:
        """The documented WORKER_COMMAND (this venv's ``rq``, this run's Redis);
        ``preload=False`` drops its ``-c jobs.run_game``."""
        words = shlex.split(WORKER_COMMAND)[2:]
        if not preload:
            at = words.index("-c")
            del words[at : at + 2]
        return [RQ, "worker", *words, "--url", self.args.redis_url]

    def wait_workers(self, count: int, timeout: float) -> bool:
        return wait_workers(self.redis, count, timeout)


def backends(bench: Bench) -> list[tuple[str, str]]:
    """SQLite and (when reachable) PostgreSQL databases for parts (a) and (b), made
    once so that (b) measures on the batches (a) submitted."""
    if not bench.stores:
        bench.stores.append(("SQLite", bench.sqlite_url("submit")))
        url = bench.postgres_url()
        if url:
            bench.stores.append(("PostgreSQL", url))
    return bench.stores


def use_store(bench: Bench, url: str) -> Settings:
    settings = bench.settings(url)
    open_store(settings)
    bench.redis.flushdb()
    return settings


class Deadline:
    """A part's time budget: loops ask ``left()`` and stop cleanly when it runs out."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


# --- (a) submit -----------------------------------------------------------------------


def part_a(bench: Bench) -> None:
    sizes, naive = bench.args.submit_sizes, bench.args.naive
    rows = []
    for label, url in backends(bench):
        settings = use_store(bench, url)
        for count in sizes:
            rows.append(submit_row(bench, settings, label, count))
        rows += one_at_a_time_rows(bench, settings, label, naive, sizes)
    table(
        f"(a) submitting {' and '.join(f'{n:,}' for n in sizes)} games: game rows + "
        "participants, then one RQ job each; the baseline is measured on "
        f"{naive:,} games and extrapolated (*)",
        ["path", "games", "rows s", "enqueue s", "total s", "ms/game", "Redis MB"],
        rows,
    )


def submit_row(bench: Bench, settings: Settings, label: str, count: int) -> list[str]:
    """``create_batch_games`` then ``enqueue_batch``, what ``dispatch`` does; the batch
    is kept for part (b), its jobs are flushed."""
    spec = BatchSpec("greedy", "random", count=count, max_rounds=100, seed=1)
    start = time.perf_counter()
    batch = create_batch_games(spec, settings)
    created = time.perf_counter()
    enqueued = enqueue_batch(batch.id, bench.redis, settings=settings)
    done = time.perf_counter()
    assert enqueued == count
    redis_mb = int(bench.redis.info("memory")["used_memory"]) / 2**20
    bench.big_batches[f"{label}/{count}"] = batch.id
    bench.redis.flushdb()
    return [
        f"{label}: submit_batch",
        f"{count:,}",
        f"{created - start:.2f}",
        f"{done - created:.2f}",
        f"{done - start:.2f}",
        f"{(done - start) / count * 1000:.3f}",
        f"{redis_mb:.0f}",
    ]


def one_at_a_time_rows(
    bench: Bench, settings: Settings, label: str, naive: int, sizes: list[int]
) -> list[list[str]]:
    """The baseline: ``create_stored_game`` + enqueue per game, measured on ``naive``
    games, then extrapolated linearly to each of ``sizes``."""
    start = time.perf_counter()
    for i in range(naive):
        game = create_stored_game(
            "greedy", "random", GameParams(max_rounds=100, seed=i), settings=settings
        )
        enqueue_games([game.id], max_rounds=100, connection=bench.redis, settings=settings)
    elapsed = time.perf_counter() - start
    Game.delete().where(Game.batch.is_null()).execute()
    bench.redis.flushdb()
    per_game = elapsed / naive
    rows = [[f"{label}: baseline, one game at a time", f"{naive:,}", "", "", f"{elapsed:.2f}"]]
    rows += [[f"{label}: baseline (*)", f"{n:,}", "", "", f"{per_game * n:.1f}"] for n in sizes]
    return [[*row, f"{per_game * 1000:.3f}", ""] for row in rows]


# --- (b) monitor refresh --------------------------------------------------------------


def part_b(bench: Bench) -> None:
    rows, held = [], []
    for label, url in backends(bench):
        settings = use_store(bench, url)
        for size in (100, *bench.args.submit_sizes):
            batch_id = batch_of(bench, settings, label, size)
            rows += monitor_rows(bench, label, batch_id, size)
        held.append(f"{label} {Game.select().count():,}")
        bench.redis.flushdb()
    table(
        f"(b) the monitor: one refresh (median and best of up to {bench.args.refreshes} runs "
        f"or ~{REPEAT_BUDGET:.0f} s), and the reconcile its start runs; games held: "
        + ", ".join(held),
        ["query", "batch games", "SQL queries", "runs", "median ms", "best ms"],
        rows,
    )
    print(
        "  full refresh: one pass of the `dispatch monitor` loop without its sleep (read the\n"
        "  batch row, budget check, worker check in Redis, redraw the bar and counts on a rich\n"
        "  terminal Console writing to /dev/null); reconcile: what `dispatch monitor` runs\n"
        "  once before watching, with every job in Redis, and once after a lost Redis\n"
        "  (it then re-enqueues every game: one run)"
    )


def batch_of(bench: Bench, settings: Settings, label: str, size: int) -> str:
    """Part (a)'s batch of ``size`` games on this backend, or a new one (not enqueued)."""
    known = bench.big_batches.get(f"{label}/{size}")
    if known is not None:
        return known
    spec = BatchSpec("greedy", "random", count=size, max_rounds=100, seed=size)
    return create_batch_games(spec, settings).id


def monitor_rows(bench: Bench, label: str, batch_id: str, size: int) -> list[list[str]]:
    """Every (b) row for one batch: Redis starts without its jobs (a lost Redis)."""

    def reconcile_batch() -> None:
        reconcile(bench.redis, batch_id=batch_id)

    rows = [measure(f"{label}: reconcile, after a lost Redis", size, 1, reconcile_batch)]
    with refresher(batch_id, bench.redis) as full_refresh:
        for name, call in (
            ("batch_progress (one row)", lambda: batch_progress(batch_id)),
            ("full monitor refresh", full_refresh),
            ("baseline: COUNT(*) GROUP BY status", lambda: count_by_status(batch_id)),
        ):
            rows.append(measure(f"{label}: {name}", size, bench.args.refreshes, call))
    rows.append(measure(f"{label}: reconcile, jobs all in Redis", size, 3, reconcile_batch))
    return rows


REPEAT_BUDGET = 10.0  # seconds a (b) row may spend repeating its call


def measure(name: str, size: int, repeats: int, call: Callable[[], object]) -> list[str]:
    """A (b) row: SQL queries of one call, then the median and best of up to
    ``repeats`` timed calls (fewer if they take over :data:`REPEAT_BUDGET`)."""
    if repeats > 1:
        call()  # warm caches and the connection
    with counted_statements() as queries:
        times = [timed(call)]
    end = time.perf_counter() + REPEAT_BUDGET
    while len(times) < repeats and time.perf_counter() < end:
        times.append(timed(call))
    return [
        name,
        f"{size:,}",
        f"{sum(queries.values())}",
        f"{len(times)}",
        f"{statistics.median(times) * 1000:.3f}",
        f"{min(times) * 1000:.3f}",
    ]


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@contextmanager
def refresher(batch_id: str, connection: redis.Redis) -> Iterator[Callable[[], None]]:
    """One pass of :func:`snakebench.cli.monitor.watch`'s loop, as ``python -m
    snakebench.dispatch monitor`` runs it every second, minus the sleep: read the batch
    row, its notices (budget, failed games, workers), redraw. The Console is a terminal
    (else rich's Live draws nothing until it stops) writing to /dev/null."""
    with open(os.devnull, "w") as sink:
        console = Console(file=sink, force_terminal=True, width=100)
        notices = Notices(batch_id, connection)
        with BatchView(batch_progress(batch_id), console) as view:

            def refresh() -> None:
                progress = batch_progress(batch_id)
                for line in notices.check(progress):
                    console.print(line)
                view.update(progress)

            yield refresh


def count_by_status(batch_id: str) -> dict[str, int]:
    query = (
        Game.select(Game.status, pw.fn.COUNT(Game.id))
        .where(Game.batch == batch_id)
        .group_by(Game.status)
    )
    rows = cast(list[tuple[str, int]], list(query.tuples()))
    return dict(rows)


# --- (c) bot games per minute ---------------------------------------------------------


def part_c(bench: Bench) -> None:
    args = bench.args
    url = bench.sqlite_url("bots")
    settings = use_store(bench, url)
    deadline = Deadline(args.budget_c)
    rows = []

    # Baseline: this one process plays the games itself, no Redis, no fork.
    batch = create_batch_games(
        BatchSpec("greedy", "random", count=args.bot_games, max_rounds=100, seed=7), settings
    )
    elapsed, cpu = play_in_process(batch.id, settings)
    rows.append(
        [
            "in-process loop, no queue",
            "1",
            f"{args.bot_games}",
            f"{elapsed:.1f}",
            f"{args.bot_games / elapsed * 60:,.0f}",
            f"{cpu / args.bot_games * 1000:.0f}",
            f"{cpu / elapsed:.2f}",
            "-",
            "-",
        ]
    )

    for preload in (True, False):
        for workers in args.workers:
            if deadline.left() < 20:
                rows.append(
                    [
                        _variant(preload),
                        str(workers),
                        "-",
                        "skipped: part (c) out of time",
                        *[""] * 5,
                    ]
                )
                continue
            games = args.bot_games if preload else args.bot_games // 2
            rows.append(bot_level(bench, settings, url, preload, workers, games, deadline))
    database.close()
    table(
        "(c) bot games (greedy v random, max 100 rounds) through RQ, SQLite; "
        "workers started and registered before the clock starts",
        [
            "worker command",
            "workers",
            "games",
            "seconds",
            "games/min",
            "CPU ms/game",
            "cores busy",
            "cores: ours / machine",
            "peak RSS MB",
        ],
        rows,
    )
    print(
        "  cores busy: CPU of the worker processes and their work horses / wall time; ours\n"
        "  adds this process (the monitor), machine is all of the machine's "
        f"{os.cpu_count()} cores:\n  the difference is other load on this shared machine"
    )


def _variant(preload: bool) -> str:
    return "WORKER_COMMAND (-c jobs.run_game)" if preload else "rq worker without -c"


def bot_level(
    bench: Bench,
    settings: Settings,
    url: str,
    preload: bool,
    workers: int,
    games: int,
    deadline: Deadline,
) -> list[str]:
    bench.redis.flushdb()
    env = bench.worker_env(url)
    procs = [bench.procs.start(bench.worker_command(preload), env) for _ in range(workers)]
    try:
        if not bench.wait_workers(workers, min(120, deadline.left())):
            return [_variant(preload), str(workers), "-", "workers did not start", *[""] * 5]
        batch = create_batch_games(
            BatchSpec("greedy", "random", count=games, max_rounds=100, seed=workers), settings
        )
        cpu0 = family_cpu([p.pid for p in procs])
        meter = CpuMeter([p.pid for p in procs])
        start = time.perf_counter()
        enqueue_batch(batch.id, bench.redis, settings=settings)
        while not batch_progress(batch.id).finished and deadline.left() > 0:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu = family_cpu([p.pid for p in procs]) - cpu0
        ours, monitor, machine = meter.cores()
        done = batch_progress(batch.id).completed
        peak = max(status_kb(p.pid, "VmHWM") for p in procs) / 1024
        timed_out = "" if done == games else f" (out of time: {done}/{games})"
        return [
            _variant(preload),
            str(workers),
            f"{done}{timed_out}",
            f"{elapsed:.1f}",
            f"{done / elapsed * 60:,.0f}",
            f"{cpu / max(done, 1) * 1000:.0f}",
            f"{cpu / elapsed:.2f}",
            f"{ours + monitor:.2f} / {machine:.2f}",
            f"{peak:.0f}",
        ]
    finally:
        bench.procs.stop()


# --- (e) end to end -------------------------------------------------------------------


def e2e_command(games: int) -> list[str]:
    """The README's quick-start command, this venv's python, ``--count games``."""
    return [
        *[sys.executable, "-m", "snakebench.dispatch"],
        *["--model-a", "greedy", "--model-b", "random"],
        *["--count", str(games), "--local", "--monitor"],
    ]


@dataclass
class EndToEnd:
    """One run of :func:`e2e_command` in a fresh folder, and what it left there."""

    folder: Path
    wall: float = 0.0
    cpu: float = 0.0  # the command and everything it started (all reaped by the end)
    machine: float = 0.0  # the machine's cores busy over the run
    launched: datetime = field(default_factory=utcnow)  # naive UTC, like the games' times
    returncode: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    workers: int = 0
    mean_rounds: float = 0.0
    created: datetime | None = None  # the batch row: stack up, games written
    first: datetime | None = None
    last: datetime | None = None
    split: dict[str, float] = field(default_factory=dict)  # CPU s by kind of process

    @property
    def play(self) -> float:
        """From the first game's start to the last game's end (``batch_timespan``)."""
        return (self.last - self.first).total_seconds() if self.first and self.last else 0.0


def run_e2e(bench: Bench, games: int) -> EndToEnd:
    """Run the command as a new user would: its own folder (so its own SQLite, replays
    and private Redis under ``.snakebench/``), no SNAKEBENCH_* or database settings."""
    run = EndToEnd(bench.tmp / "e2e")
    run.folder.mkdir()
    drop = ("DATABASE_URL", "REDIS_URL", "SNAKEBENCH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    meter, cpu0 = CpuMeter([]), children_cpu()
    start = time.perf_counter()
    with (run.folder / "dispatch.log").open("wb") as log:
        process = subprocess.Popen(
            e2e_command(games), cwd=run.folder, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        run.returncode, run.split = wait_sampling(process, bench.args.budget_e)
    except subprocess.TimeoutExpired:
        bench.procs.started.append(process)  # SIGTERM stops its stack; then SIGKILL
        bench.procs.stop(grace=30)
    run.wall = time.perf_counter() - start
    run.cpu, run.machine = children_cpu() - cpu0, meter.cores()[2]
    if (run.folder / "snakebench.db").exists():
        read_e2e(run)
    return run


def wait_sampling(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, dict[str, float]]:
    """``process.wait(timeout)``, reading every 0.3 s the CPU of the process and of
    its children (each one's own, and its reaped children's: a worker's work horses);
    returns the exit status and CPU seconds by kind of process, as last seen."""
    seen: dict[int, tuple[str, float, float]] = {}
    end = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > end:
            raise subprocess.TimeoutExpired(process.args, timeout)
        table = process_table()
        for pid in [process.pid, *(p for p, (up, _) in table.items() if up == process.pid)]:
            seen[pid] = cpu_split(pid) or seen.get(pid, ("", 0.0, 0.0))
        time.sleep(0.3)
    split: dict[str, float] = {}
    for pid, (command, own, reaped) in seen.items():
        if pid == process.pid:
            kinds = [("dispatch (submit, monitor)", own)]  # reaped: everything below
        elif "redis-server" in command:
            kinds = [("Redis", own + reaped)]
        else:
            kinds = [("rq worker processes", own), ("work horses (the games)", reaped)]
        for kind, seconds in kinds:
            split[kind] = split.get(kind, 0.0) + seconds
    return process.wait(), split


def cpu_split(pid: int) -> tuple[str, float, float] | None:
    """(command line, own CPU s, reaped children's CPU s) of ``pid``; None if gone."""
    with suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = [int(v) / os.sysconf("SC_CLK_TCK") for v in fields[11:15]]
        return command, ticks[0] + ticks[1], ticks[2] + ticks[3]
    return None


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (and, through them, theirs)."""
    times = os.times()
    return times.children_user + times.children_system


def read_e2e(run: EndToEnd) -> None:
    """Fill ``run`` in from the SQLite database the command created."""
    open_store(Settings(database_url=f"sqlite:///{run.folder / 'snakebench.db'}"))
    batch_id = latest_batch_id()
    if batch_id is not None:
        games = list(Game.select(Game.seed, Game.rounds, Game.worker).where(Game.batch == batch_id))
        run.seeds = [g.seed for g in games]
        run.workers = len({g.worker for g in games if g.worker})
        run.mean_rounds = statistics.mean(g.rounds or 0 for g in games) if games else 0.0
        run.statuses = count_by_status(batch_id)
        run.created = get_batch(batch_id).created_at
        run.first, run.last = batch_timespan(batch_id)
    database.close()


@dataclass
class InProcess:
    """The baseline's run: seconds, CPU seconds, mean rounds, games by status."""

    elapsed: float
    cpu: float
    rounds: float
    statuses: dict[str, int]


def same_games_in_process(bench: Bench, seeds: list[int]) -> InProcess:
    """The baseline: the same seeds and line-up played by this process, one game after
    the other, no Redis."""
    settings = use_store(bench, bench.sqlite_url("e2e-baseline"))
    spec = BatchSpec("greedy", "random", count=len(seeds), max_rounds=100)
    line_up = plan_batch(spec, settings).games[0].model_ids
    games = [NewGame(seed=seed, model_ids=line_up) for seed in seeds]
    batch = write_batch(spec, games, asdict(spec))
    elapsed, cpu = play_in_process(batch.id, settings)
    rounds = Game.select(pw.fn.AVG(Game.rounds)).where(Game.batch == batch.id).scalar()
    statuses = count_by_status(batch.id)
    database.close()
    return InProcess(elapsed, cpu, float(rounds or 0), statuses)


def play_in_process(batch_id: str, settings: Settings) -> tuple[float, float]:
    """Play the batch's queued games here, one after the other: (seconds, CPU s)."""
    cpu0, start = time.process_time(), time.perf_counter()
    for game_id in batch_game_ids(batch_id, ("queued",)):
        run_stored_game(game_id, settings=settings)
    return time.perf_counter() - start, time.process_time() - cpu0


def part_e(bench: Bench) -> None:
    games = bench.args.e2e_games
    run = run_e2e(bench, games)
    if not run.seeds:
        log = (run.folder / "dispatch.log").read_text(errors="replace").strip()
        print(f"\n(e) the command failed (exit {run.returncode}): {log[-2000:]}")
        return
    base = same_games_in_process(bench, run.seeds)
    cores = min(os.cpu_count() or 1, run.workers or 1)
    ideal = cores * len(run.seeds) / base.elapsed
    table(
        f"(e) end to end: {games:,} bot games (greedy v random, max 100 rounds) as a new user "
        f"runs them, in a fresh folder:\n  {shlex.join(['python', *e2e_command(games)[1:]])}",
        ["run", "procs", "games by status", "wall s", "play s", "games/s play",
         "games/s wall", "of ideal", "CPU ms/game", "cores: ours / machine"],
        e2e_rows(run, base, ideal, cores),
    )  # fmt: skip
    e2e_notes(run, base)


def e2e_notes(run: EndToEnd, base: InProcess) -> None:
    """Where the command's wall time and CPU went, from its rows' timestamps and the
    processes' CPU readings."""

    def since_launch(when: datetime | None) -> float:
        return (when - run.launched).total_seconds() if when else 0.0

    created, first = since_launch(run.created), since_launch(run.first)
    n = len(run.seeds)
    split = ", ".join(f"{kind} {cpu / n * 1000:.0f}" for kind, cpu in run.split.items())
    note = (
        f"Exit status {run.returncode}. Wall time: {created:.1f} s to the batch row "
        f"(interpreter, private Redis, {run.workers} workers started and registered, then "
        f"the game rows), {first - created:.1f} s more to the first game's start (enqueue), "
        f"{run.play:.1f} s playing, {run.wall - first - run.play:.1f} s after the last "
        "game's end (summary, warm shutdown of the workers and Redis, exit). play s: first "
        "start to last end (batch_timespan), as the command's summary line reports it. "
        f"Mean rounds {run.mean_rounds:.1f} through the stack, {base.rounds:.1f} in this "
        f"process: the same games. CPU ms per game by process (read every 0.3 s): {split}."
    )
    print(textwrap.fill(note, 92, initial_indent="  ", subsequent_indent="  "))


def by_status(statuses: dict[str, int]) -> str:
    return ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))


def e2e_rows(run: EndToEnd, base: InProcess, ideal: float, cores: int) -> list[list[str]]:
    """(e)'s rows: the command, the in-process baseline, the ideal for ``cores``."""
    n = len(run.seeds)
    row = functools.partial(e2e_row, games=n, ideal=ideal)
    return [
        row("dispatch --local --monitor", f"{run.workers} workers", by_status(run.statuses),
            run.wall, run.play, run.cpu, f"{run.cpu / run.wall:.2f} / {run.machine:.2f}"),
        row("baseline: in-process loop, same seeds", "1", by_status(base.statuses),
            base.elapsed, base.elapsed, base.cpu, f"{base.cpu / base.elapsed:.2f} / -"),
        row(f"ideal for {cores} cores: {cores} x in-process", str(cores), "",
            n / ideal, n / ideal, base.cpu, "-"),
    ]  # fmt: skip


def e2e_row(
    label: str,
    procs: str,
    statuses: str,
    wall: float,
    play: float,
    cpu: float,
    busy: str,
    *,
    games: int,
    ideal: float,
) -> list[str]:
    """One (e) row; rates are games/s, "of ideal" compares the rate while playing."""
    rate = games / play if play else 0.0
    return [
        label,
        procs,
        statuses,
        f"{wall:.1f}",
        f"{play:.1f}",
        f"{rate:.1f}",
        f"{games / wall:.1f}",
        f"{rate / ideal:.0%}",
        f"{cpu / games * 1000:.0f}",
        busy,
    ]


# --- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--parts", default="abce", help="which parts to run (default abce)")
    parser.add_argument(
        "--redis-url",
        help="a Redis database to use (flushed!); default: a free one of 127.0.0.1:6379, "
        "claimed for the run. PostgreSQL: SNAKEBENCH_TEST_PG_HOST, _PORT, _USER, _DB",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    quick = args.quick
    args.submit_sizes = [1000, 2000] if quick else [10_000, 100_000]
    args.naive = 100 if quick else 1000
    args.refreshes = 50 if quick else 500
    args.bot_games = 60 if quick else 400
    args.workers = [1, 2] if quick else [1, 2, 4, 8]
    args.budget_c = 120 if quick else 600
    args.e2e_games = 100 if quick else 1000
    args.budget_e = 180 if quick else 900  # seconds the end-to-end command may take
    return args


PARTS: dict[str, Callable[[Bench], None]] = {
    "a": part_a,
    "b": part_b,
    "c": part_c,
    "e": part_e,
}


def main() -> None:
    args = parse_args()
    with bench_redis(args.redis_url) as url:
        args.redis_url = url
        run(args)


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    connection = connect_redis(args.redis_url)
    connection.flushdb()
    bench = Bench(args, tmp, connection, Procs(tmp))
    print(f"bench_dispatch: {os.cpu_count()} cores, Redis {args.redis_url}, work in {tmp}")
    try:
        for part in args.parts:
            started = time.perf_counter()
            PARTS[part](bench)
            load = " ".join(f"{v:.2f}" for v in os.getloadavg())
            peak = status_kb(os.getpid(), "VmHWM") / 1024
            print(
                f"  (part {part}: {time.perf_counter() - started:.0f} s; load average {load}; "
                f"this process's peak RSS so far {peak:.0f} MB)"
            )
    finally:
        bench.procs.stop()
        connection.flushdb()
        if not database.is_closed():
            database.close()
        bench.cleanup.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
