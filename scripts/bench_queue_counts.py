"""Round trips per game (issue 19, item 3): the SQL statements and Redis commands one
game job costs on a worker, beside the figures measured at commit 15aece9.

    python scripts/bench_queue.py --counts [--kinds game,llm] [--count-games 10]

Each row plays ``--count-games`` stored 20-round games (the bench's greedy v random, or
the fake provider's model v random) through one worker started as the product starts
it: ``WORKER_COMMAND`` (a work horse forked per game) and ThreadWorker (one thread),
after two warm-up games. Its figures, per game:

- SQL statements: peewee's query log in the worker (``-c bench_queue_sqllog``, the
  product's ``-c jobs.run_game`` plus the log: ``scripts/bench_queue_sqllog.py``), every
  statement the game's code sends; ``BEGIN``/``COMMIT``, which peewee sends to the
  driver directly, are not in that log;
- Redis commands: MONITOR on the bench's database, submitting the game included (RQ's
  enqueue), the bench's own polls for the end excluded, and so are the commands of the
  worker's scheduler (``--with-scheduler``: its lock and the scheduled registries,
  about four a second whatever runs), shown apart: they come with time, not games.

The counts are deterministic for SQL (the same game, the same statements); Redis's
move by a fraction with timing (a game longer than the worker's 30 s job monitoring
interval adds its heartbeats). Fast: a row takes seconds, no Celery needed.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchlib import table
from rq import Worker

from snakebench.testing.query_log import statement_name
from snakebench.testing.redis_monitor import SCHEDULER, CommandCounter, per_job

if TYPE_CHECKING:
    from bench_queue import Bench, Kind, Variant

# Per game, measured with this very module at commit 15aece9 (the code before issue 19's
# item 3), 10 games a row: a checkout of 15aece9 with this script, bench_queue.py,
# bench_queue_sqllog.py and snakebench/testing/{query_log,redis_monitor}.py copied in.
BASELINE_COMMIT = "15aece9"
BASELINE: dict[tuple[str, str], tuple[float, float]] = {  # (kind, path) -> (SQL, Redis)
    ("game", "RQ Worker: WORKER_COMMAND"): (33.0, 64.3),
    ("game", "RQ ThreadWorker, 1 thread"): (31.0, 63.3),
    ("llm", "RQ Worker: WORKER_COMMAND"): (94.0, 123.3),
    ("llm", "RQ ThreadWorker, 1 thread"): (92.0, 122.3),
}
WARM_UP = 2
SETTLE = 0.3  # seconds after the last game's end, for the worker's own last commands


@dataclass
class Counts:
    """One row's figures, per game."""

    games: int
    sql: Counter[str] = field(default_factory=Counter)
    redis: Counter[str] = field(default_factory=Counter)

    def per_game(self, counter: Counter[str]) -> float:
        return per_job(counter, self.games)

    def scheduler(self) -> float:
        return sum(n for name, n in self.redis.items() if name.endswith(SCHEDULER)) / self.games

    def breakdown(self, counter: Counter[str]) -> str:
        return ", ".join(f"{name} {n / self.games:g}" for name, n in counter.most_common())


def read_sql_log(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            counts[statement_name(line.partition(" ")[2])] += 1
    return counts


def count_cell(bench: Bench, variant: Variant, kind: Kind) -> Counts | str:
    """``kind.count`` games of ``kind`` through one worker of ``variant``, counted."""
    from bench_queue import RqStaged, rq_commands, run_jobs, started

    sql_log = bench.tmp / f"sql-{uuid.uuid4().hex[:8]}.log"
    env = bench.worker_env({**variant.env, "BENCH_SQL_LOG": str(sql_log)})
    [command] = rq_commands(variant, kind, 1, bench.args.redis_url)
    command[command.index("jobs.run_game")] = "bench_queue_sqllog"
    process = bench.procs.start(command, env)
    try:
        if not started(lambda: Worker.count(connection=bench.rq) >= 1, "RQ worker"):
            return "the worker did not start"
        run_jobs([process.pid], RqStaged(bench.rq, kind, bench.job_args(kind, WARM_UP)), WARM_UP)
        time.sleep(SETTLE)
        sql_log.unlink(missing_ok=True)
        with CommandCounter(bench.args.redis_url) as counter:
            staged = RqStaged(bench.rq, kind, bench.job_args(kind, kind.count))
            run = run_jobs([process.pid], staged, kind.count, poll=0.1)
            time.sleep(SETTLE)
        if run.ok != kind.count:
            return f"{run.ok}/{kind.count} games ended well"
        counter.counts["ZCARD"] -= staged.polls  # the bench's own polls for the end
        return Counts(kind.count, read_sql_log(sql_log), +counter.counts)
    finally:
        bench.procs.stop()
        bench.rq.flushdb()


HEADER = ["job: path", "games", "SQL/game", "at " + BASELINE_COMMIT, "Redis/game",
          "at " + BASELINE_COMMIT, "scheduler/game"]  # fmt: skip


def report(bench: Bench, kinds: list[Kind], paths: list[Variant]) -> None:
    """Count every (kind, path) row and print the table, then each row's breakdown."""
    rows, details = [], []
    for kind in kinds:
        for variant in paths:
            print(f"  {kind.label}: {variant.label}", flush=True)
            cell = count_cell(bench, variant, kind)
            label = f"{kind.label}: {variant.label}"
            sql0, redis0 = BASELINE.get((kind.name, variant.label), (None, None))
            if isinstance(cell, str):
                rows.append([label, str(kind.count), cell, "", "", "", ""])
                continue
            rows.append(
                [
                    label,
                    str(cell.games),
                    f"{cell.per_game(cell.sql):.1f}",
                    "-" if sql0 is None else f"{sql0:.1f}",
                    f"{cell.per_game(cell.redis):.1f}",
                    "-" if redis0 is None else f"{redis0:.1f}",
                    f"{cell.scheduler():.1f}",
                ]
            )
            details.append(f"{label}\n    SQL: {cell.breakdown(cell.sql)}")
            details.append(f"    Redis: {cell.breakdown(cell.redis)}")
    table(
        f"round trips per game: SQL statements (peewee's query log) and Redis commands "
        f"(MONITOR, submitting included, the scheduler's apart) beside commit "
        f"{BASELINE_COMMIT}'s",
        HEADER,
        rows,
    )
    print("\n".join(["  per game, by statement and command:", *details]))
