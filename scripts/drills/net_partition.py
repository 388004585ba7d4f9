"""Network partitions of a worker host (issue 19): hosts in network namespaces
(:mod:`drills.netns`), a worker host cut off mid-game, then healed.

- ``partition-heal``: one busy worker host loses its link (``Host.cut``: every packet
  stops, nothing is reset) for longer than the jobs' heartbeat TTL. ``dispatch
  reconcile``, run from the dispatcher host, finds their started-registry entries
  lapsed and enqueues the games again; other hosts replay and record them; then the
  link comes back. The stale work horses wake up mid-game: none may record anything
  (participants, rating changes, replay, status) nor mark the job the other run now
  holds finished or failed in Redis.
- ``half-partition``: two phases. A busy worker host loses Redis only
  (``Host.block(services, 6379)``) past the heartbeat TTL, then gets it back; then
  another busy worker host loses PostgreSQL only (port 5432) for as long, then gets
  it back.

Each game is an LLM game against the fake provider. Each worker host runs its own
``snakebench fake-llm`` on its loopback, on one port, so the models' one base URL
(``http://127.0.0.1:PORT/v1``) reaches a provider from every host and a partition
cuts a host off from Redis and PostgreSQL, never from its provider: the stale runs
really are mid-game when the network comes back.

The heartbeat TTL is RQ's: a busy worker refreshes its job's started-registry entry
every ``--job-monitoring-interval`` seconds (30 by default) to last that interval
plus 60 s (RQ's fixed margin; no option lowers it). The drill's workers run with an
interval of :data:`MONITOR_INTERVAL` s (the documented ``rq worker`` option; the
production command keeps RQ's default), so a lapse takes 65 s, not 90.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from drills.common import (
    ANSI,
    JOB_OK,
    PY,
    Audit,
    DrillError,
    Env,
    audit,
    make_net_env,
    new_tmp,
    opened,
    wait_for,
)
from drills.netns import Cluster, Host, NetnsUnavailable, cluster
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from snakebench.queueing import WORKER_COMMAND, WORKER_QUEUES, job_statuses
from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.store import Game, Participant, upsert_model
from snakebench.store.models import RatingChange

Result = tuple[str, str, Audit, list[str]]  # as drills.scenarios' drills return
MONITOR_INTERVAL = 5  # rq worker --job-monitoring-interval for the drill's workers
HEARTBEAT_TTL = MONITOR_INTERVAL + 60  # RQ: the interval plus its fixed 60 s
FAKE_PORT = 18765  # each worker host's own fake provider, on its loopback
LATENCY_MS = 150  # per reply: games last seconds, so a partition finds them mid-game
MID_BATCH = 0.2  # the share of the batch done before a partition
BUSY_WAIT = 600.0  # seconds to wait for busy worker hosts (a loaded machine: minutes)
WORKER_START = 240.0  # seconds for the workers to register (SDK imports on a loaded machine)
# A connection without a socket timeout (RQ's own to Redis) wakes at TCP's next
# retransmission after a heal, up to two minutes later (the backoff doubles to 120 s).
STALE_WAIT = 300.0
RECONCILE_EVERY = 5.0  # seconds between `dispatch reconcile` runs from the dispatcher
RECONCILE_TIMEOUT = 120.0  # seconds one reconcile may take (a stalled database: longer)
REDIS_PORT = 6379
PG_PORT = 5432
# What a stale run of a game logs when it ends without recording (jobs/run_game.py,
# snakebench/games/game_log.py): the three places it can be refused.
STALE_LINES = {
    "stopped before its next round": re.compile(r"game ([0-9a-f-]{36}): run \d+ stopped after"),
    "result refused": re.compile(r"game ([0-9a-f-]{36}): this run's result was not recorded"),
    "job left to its new run": re.compile(r"game ([0-9a-f-]{36}): its job was enqueued again"),
}


@dataclass
class Partition:
    """What one fault did: the host, the games it held, and how long it lasted."""

    host: Host
    games: dict[str, int]  # game id: the attempt (fencing token) its stale run held
    seconds: float = 0.0
    replayed_before_heal: int = 0
    # Heal after this many seconds whatever happened; None: once its games are recorded
    # by other runs, past the heartbeat TTL.
    lasts: float | None = None
    healed: bool = False

    def heal(self, started: float) -> None:
        self.host.heal()
        self.host.unblock()
        self.seconds = time.monotonic() - started
        self.healed = True


@contextmanager
def net_stack(args: argparse.Namespace) -> Iterator[tuple[Cluster, Env]]:
    """The cluster, its Redis and PostgreSQL, a fake provider on every worker host,
    the two fake models, and ``--workers`` workers spread over the worker hosts."""
    with cluster(worker_hosts=args.hosts) as hosts:
        tmp = new_tmp()
        try:
            env = make_net_env(tmp, hosts)
        except NetnsUnavailable as exc:
            raise DrillError(str(exc)) from None
        env.worker_command = f"{WORKER_COMMAND} --job-monitoring-interval {MONITOR_INTERVAL}"
        with opened(env, args.keep):
            try:
                _start_fake_providers(hosts, env)
                for name in ("fake-a", "fake-b"):
                    upsert_model(name, provider="openai", model_slug=name,
                                 base_url=f"http://127.0.0.1:{FAKE_PORT}/v1")  # fmt: skip
                env.start_workers(args.workers, wait=WORKER_START)
                yield hosts, env
            finally:  # links back up before teardown stops what runs behind them
                for host in hosts.workers:
                    host.heal()
                    host.unblock()


def _start_fake_providers(hosts: Cluster, env: Env) -> None:
    """``snakebench fake-llm``'s server on each worker host's loopback (started by its
    module alone: the CLI's imports take seconds of CPU on a loaded machine)."""
    for host in hosts.workers:
        argv = [PY, "-c", _SERVE, str(FAKE_PORT), str(LATENCY_MS)]
        host.popen(argv, env=env.env(), log=env.tmp / f"fake-llm-{host.name}.log")
    for host in hosts.workers:
        ready = host.run([PY, "-c", _PROBE, str(FAKE_PORT)], timeout=120)
        if ready.returncode != 0:
            raise DrillError(f"the fake provider on {host.name} did not start: {ready.stdout}")


_SERVE = """
import sys
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import serve_forever
serve_forever(FakeOptions(latency_ms=float(sys.argv[2])), "127.0.0.1", int(sys.argv[1]))
"""
# Run on a host: wait until its own fake provider listens on loopback.
_PROBE = """
import socket, sys, time
deadline = time.monotonic() + 90
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError as exc:
        if time.monotonic() > deadline:
            print(exc); sys.exit(1)
        time.sleep(0.2)
"""


def submit(env: Env, args: argparse.Namespace) -> str:
    spec = BatchSpec("fake-a", "fake-b", count=args.games, max_rounds=args.max_rounds,
                     seed=args.seed)  # fmt: skip
    conn = env.redis
    batch = submit_batch(spec, conn, settings=env.settings)
    conn.close()
    return str(batch.id)


def reconcile_from(host: Host, env: Env, batch_id: str) -> None:
    """``python -m snakebench.dispatch reconcile --batch ID`` on ``host``."""
    try:
        done = host.run([PY, "-m", "snakebench.dispatch", "reconcile", "--batch", batch_id],
                        env=env.env(), cwd=env.tmp, timeout=RECONCILE_TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DrillError(f"reconcile on {host.name} hung over {RECONCILE_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        raise DrillError(f"reconcile on {host.name} failed: {done.stderr.strip()[-300:]}")


def busy_hosts(env: Env, hosts: Cluster, batch_id: str, count: int = 1) -> list[Partition]:
    """Wait for a fifth of the batch done and ``count`` worker hosts whose every worker
    is mid-game; return them with the games they hold and their runs' tokens."""

    def found() -> list[Partition] | None:
        progress = batch_progress(batch_id)
        if progress.done < progress.total * MID_BATCH:
            return None
        busy = []
        for host in hosts.workers:
            names = [w.name for w in env.workers_on(host)]
            games = list(Game.select().where(
                Game.batch == batch_id, Game.status == "running", Game.worker.in_(names)
            ))  # fmt: skip
            if names and len(games) == len(names):
                busy.append(Partition(host, {g.id: g.attempt for g in games}))
        return busy[:count] if len(busy) >= count else None

    return wait_for(found, BUSY_WAIT, f"{count} worker hosts with every worker mid-game", 0.3)


def partition(
    env: Env, hosts: Cluster, batch_id: str, victims: list[Partition], most: float
) -> str:
    """With the victims already cut off, reconcile from the dispatcher; heal each once
    its ``lasts`` is up, or (None) once every game it held has been recorded by another
    run past the heartbeat TTL; heal all after ``most`` seconds. Returns what ``dispatch
    status`` said half-way through the heartbeat TTL (what an operator would see)."""
    started = time.monotonic()
    status = ""
    try:
        while not all(victim.healed for victim in victims):
            time.sleep(RECONCILE_EVERY)
            elapsed = time.monotonic() - started
            if not status and elapsed > HEARTBEAT_TTL / 2:
                status = _status_line(env, hosts)
            if elapsed > HEARTBEAT_TTL:
                reconcile_from(hosts.dispatcher, env, batch_id)
            for victim in victims:
                if not victim.healed and _healing_time(victim, elapsed, most):
                    victim.heal(started)
    finally:
        for victim in victims:
            if not victim.healed:
                victim.heal(started)
    return status


def _healing_time(victim: Partition, elapsed: float, most: float) -> bool:
    victim.replayed_before_heal = (
        Game.select().where(Game.id.in_(list(victim.games)), Game.status == "completed").count()
    )
    if victim.lasts is not None or elapsed > most:
        return elapsed >= min(most, victim.lasts or most)
    return elapsed > HEARTBEAT_TTL and victim.replayed_before_heal == len(victim.games)


def finish(env: Env, hosts: Cluster, batch_id: str, timeout: float) -> int:
    """Reconcile from the dispatcher until the batch is done; returns the passes."""
    deadline = time.monotonic() + timeout
    runs = 0
    while time.monotonic() < deadline and not batch_progress(batch_id).finished:
        reconcile_from(hosts.dispatcher, env, batch_id)
        runs += 1
        end = min(deadline, time.monotonic() + RECONCILE_EVERY)
        while time.monotonic() < end and not batch_progress(batch_id).finished:
            time.sleep(0.5)
    return runs


def wait_stale_runs(env: Env, victims: list[Partition], timeout: float = STALE_WAIT) -> float:
    """Wait until the partitioned hosts' runs of their games have ended (a horse that
    woke up mid-game plays to its next round or its end, then reports); returns how
    long that took."""
    started = time.monotonic()

    def ended() -> bool:
        for victim in victims:
            for worker in env.workers_on(victim.host):
                if worker.horses():
                    return False
        return True

    wait_for(ended, timeout, "the partitioned hosts' stale runs to end", 0.5)
    return time.monotonic() - started


def stale_refusals(env: Env, victim: Partition) -> Counter[str]:
    """How the partitioned host's stale runs of its games were refused, from its
    workers' logs."""
    logs = ANSI.sub("", "\n".join(
        w.log.read_text(errors="replace") for w in env.all_workers if w.host is victim.host
    ))  # fmt: skip
    found: Counter[str] = Counter()
    for label, pattern in STALE_LINES.items():
        found[label] = sum(1 for gid in pattern.findall(logs) if gid in victim.games)
    return found


def check_ran_once(env: Env, victim: Partition, result: Audit) -> str:
    """Each of the victim's games: recorded by exactly one run: one participant row per
    slot, two rating changes, one replay file, one ``Job OK`` in all the workers' logs.
    The run may be the partitioned one (a game it finished before anyone replaced it,
    e.g. with PostgreSQL still in reach) or a later one; a replaced run cannot record
    (the fence). Adds what is wrong to ``result``; returns a one-line account."""
    partitioned = {w.name for w in env.all_workers if w.host is victim.host}
    oks = Counter(JOB_OK.findall(ANSI.sub("", env.worker_logs())))
    once = by_partitioned = 0
    for gid in victim.games:
        game = Game.get_by_id(gid)
        slots = Participant.select().where(Participant.game == gid).count()
        rated = RatingChange.select().where(RatingChange.game == gid).count()
        replays = len(list(env.replay_dir.glob(f"snake_game_{gid}.json")))
        if (game.status, slots, rated, replays, oks[gid]) == ("completed", 2, 2, 1, 1):
            once += 1
            by_partitioned += game.worker in partitioned and game.attempt == victim.games[gid]
        else:
            result.notes.append(
                f"{gid}: {game.status}, {slots} participants, {rated} rating changes, "
                f"{replays} replays, {oks[gid]} Job OK"
            )
            result.duplicated += oks[gid] > 1
    return (
        f"{once}/{len(victim.games)} of its games ran once ({by_partitioned} recorded by "
        f"the partitioned run itself, {once - by_partitioned} by a later run)"
    )


def check_rq(env: Env, batch_id: str, result: Audit) -> str:
    """Redis after the batch: every game's job finished, none started or failed left,
    the batch's counters equal to its rows (``rq info`` and ``dispatch status`` read
    these)."""
    conn: redis.Redis = env.redis
    ids = [g.id for g in Game.select(Game.id).where(Game.batch == batch_id)]
    statuses = Counter(job_statuses(ids, conn).values())
    counts: Counter[str] = Counter()
    for name in WORKER_QUEUES:
        queue = Queue(name, connection=conn)
        counts["started"] += StartedJobRegistry(queue=queue).get_job_count(cleanup=False)
        counts["finished"] += FinishedJobRegistry(queue=queue).get_job_count(cleanup=False)
        counts["failed"] += FailedJobRegistry(queue=queue).get_job_count(cleanup=False)
        counts["queued"] += queue.count
    if counts["started"]:  # whose, and until when (each entry is "job id:execution id")
        now = time.time()
        left = [(entry.decode()[:13], round(score - now))
                for name in WORKER_QUEUES
                for entry, score in conn.zrange(StartedJobRegistry(name, connection=conn).key,
                                                0, -1, withscores=True)]  # fmt: skip
        result.notes.append(f"started entries left (job:execution, seconds to live): {left}")
    conn.close()
    progress = batch_progress(batch_id)
    rows = Counter(g.status for g in Game.select(Game.status).where(Game.batch == batch_id))
    counters = {"completed": progress.completed, "running": progress.running,
                "queued": progress.queued, "failed": progress.failed,
                "void": progress.void}  # fmt: skip
    if any(counters[k] != rows.get(k, 0) for k in counters):
        result.wrongly_scored += 1
        result.notes.append(f"batch counters {counters} != game rows {dict(rows)}")
    if statuses != Counter({"finished": len(ids)}) or counts["started"] or counts["queued"]:
        result.violations += 1
        result.notes.append(f"Redis after the batch: jobs {dict(statuses)}, registries "
                            f"{dict(counts)}")  # fmt: skip
    return f"jobs {dict(statuses)}; registries {dict(counts)}; batch counters {counters}"


def partition_to_end(
    env: Env, hosts: Cluster, batch_id: str, victims: list[Partition], args: argparse.Namespace
) -> tuple[str, float, int, Audit]:
    """The victims already cut off: :func:`partition` (healing them), wait for their
    stale runs, reconcile until the batch is done, audit it. Returns ``dispatch
    status`` mid-partition, how long the stale runs took to end after the heal, how
    many reconcile passes finishing took, and the audit."""
    status = partition(env, hosts, batch_id, victims, args.cut_for)
    woke = wait_stale_runs(env, victims)
    runs = finish(env, hosts, batch_id, args.deadline)
    time.sleep(2)  # the last worker logs its job OK after the horse commits
    return status, woke, runs, audit(env, batch_id)


# --- partition-heal -----------------------------------------------------------------------


def partition_heal(args: argparse.Namespace) -> Result:
    """A busy worker host cut off past the heartbeat TTL, its games replayed elsewhere,
    then healed: each of its games runs (is recorded) once, the stale runs' are refused."""
    with net_stack(args) as (hosts, env):
        batch_id = submit(env, args)
        (victim,) = busy_hosts(env, hosts, batch_id)
        at = batch_progress(batch_id)
        victim.host.cut()
        status, woke, runs, result = partition_to_end(env, hosts, batch_id, [victim], args)
        once = check_ran_once(env, victim, result)
        refused = stale_refusals(env, victim)
        rq_state = check_rq(env, batch_id, result)
    extra = [
        f"  {victim.host.name} cut at {at.done}/{at.total} done holding {len(victim.games)} "
        f"games, for {victim.seconds:.0f} s (heartbeat TTL {HEARTBEAT_TTL} s); "
        f"{victim.replayed_before_heal} replayed and recorded elsewhere before the heal; "
        f"its stale runs ended {woke:.0f} s after it",
        f"  {once}; stale attempts refused: {dict(refused)}",
        f"  dispatch status mid-cut: {status}",
        f"  reconcile ran {runs} more times after the heal; {rq_state}",
        f"  statuses {dict(result.statuses)}",
    ]
    return _load(args), f"1 worker host cut {victim.seconds:.0f} s", result, extra


# --- half-partition -------------------------------------------------------------------------


def half_partition(args: argparse.Namespace) -> Result:
    """Two busy worker hosts at once: one loses Redis only, past the heartbeat TTL, the
    other PostgreSQL only, for ``--pg-for`` seconds; then each is healed."""
    with net_stack(args) as (hosts, env):
        batch_id = submit(env, args)
        services = hosts.services.address
        no_redis, no_pg = busy_hosts(env, hosts, batch_id, 2)
        no_pg.lasts = args.pg_for
        no_redis.host.block(services, REDIS_PORT)
        no_pg.host.block(services, PG_PORT)
        victims = [no_redis, no_pg]
        status, woke, runs, result = partition_to_end(env, hosts, batch_id, victims, args)
        once_redis = check_ran_once(env, no_redis, result)
        once_pg = check_ran_once(env, no_pg, result)
        refused = stale_refusals(env, no_redis)
        failures = failure_reasons(env, no_pg.host)
        redis_errors = failure_reasons(env, no_redis.host)
        rq_state = check_rq(env, batch_id, result)
    extra = [
        f"  Redis blocked on {no_redis.host.name} for {no_redis.seconds:.0f} s (heartbeat TTL "
        f"{HEARTBEAT_TTL} s) holding {len(no_redis.games)} games: {once_redis}; stale "
        f"attempts refused: {dict(refused)}; errors its workers logged: "
        f"{dict(redis_errors.most_common(3))}",
        f"  PostgreSQL blocked on {no_pg.host.name} for {no_pg.seconds:.0f} s holding "
        f"{len(no_pg.games)} games: {once_pg}; its failed job attempts: "
        f"{sum(failures.values())} {dict(failures.most_common(3))}",
        f"  dispatch status mid-partition: {status}",
        f"  the stale runs ended {woke:.0f} s after the heals; reconcile ran {runs} more "
        f"times; {rq_state}",
        f"  statuses {dict(result.statuses)}",
    ]
    faults = f"Redis-only {no_redis.seconds:.0f} s, PostgreSQL-only {no_pg.seconds:.0f} s"
    return _load(args), faults, result, extra


def _load(args: argparse.Namespace) -> str:
    per_host = args.workers // args.hosts
    return f"{args.games} LLM games, {args.hosts} worker hosts x {per_host} workers"


def _status_line(env: Env, hosts: Cluster) -> str:
    """``dispatch status --json`` from the dispatcher host, in one line."""
    done = hosts.dispatcher.run([PY, "-m", "snakebench.dispatch", "status", "--json"],
                                env=env.env(), cwd=env.tmp, timeout=60)  # fmt: skip
    try:
        status = json.loads(done.stdout)
    except ValueError:
        return f"unreadable ({done.stderr.strip()[-200:]})"
    busy = sum(1 for worker in status["workers"] if worker["state"] == "busy")
    registries = {k: v for k, v in status["registries"].items() if v}
    return (
        f"{len(status['workers'])} workers listed ({busy} busy), registries {registries}, "
        f"{status['abandoned']} abandoned, {status['games_without_job']} games without a job"
    )


# RQ's line for a failed job attempt, and the traceback's last line after it
# ("Module.Error: reason"; a chained exception's is the last one before the next line
# stamped with a time).
ATTEMPT_FAILED = "exception raised while executing"
FAILURE = re.compile(r"^([\w.]+(?:Error|Exception))(?:: (.*))?$", re.MULTILINE)
STAMPED = re.compile(r"^\d\d:\d\d:\d\d ", re.MULTILINE)


def failure_reasons(env: Env, host: Host) -> Counter[str]:
    """The failed job attempts of ``host``'s workers, by exception and reason (first
    60 characters): what their logs and rq-dashboard showed."""
    found: Counter[str] = Counter()
    for worker in env.all_workers:
        if worker.host is None or worker.host.name != host.name:
            continue
        log = ANSI.sub("", worker.log.read_text(errors="replace"))
        for after in log.split(ATTEMPT_FAILED)[1:]:
            next_line = STAMPED.search(after)
            reasons = FAILURE.findall(after[: next_line.start() if next_line else None])
            name, reason = reasons[-1] if reasons else ("unknown", "")
            found[f"{name.rsplit('.', 1)[-1]}: {reason[:60]}"] += 1
    return found
