"""Network drills of a slow path and of a cut-off dispatcher, on the netns harness
(scripts/drills/netns.py): hosts in network namespaces, Redis and PostgreSQL on the
services host, workers on worker hosts.

- ``slow-link``: the first worker host reaches Redis and PostgreSQL only through a TCP
  proxy on its own loopback (scripts/drills/proxy.py) that adds ``--delay-ms`` to every
  chunk each way and resets connections at ``--reset-rate`` per chunk; the other hosts
  go direct. A batch of bot games runs through it; the drill counts the resets, the
  slowdown of the proxied workers' games against the direct ones', and the audit.
- ``dispatcher-cut``: ``python -m snakebench.dispatch`` submits ``--games`` bot games
  from the dispatcher host; once ``--cut-at`` of its jobs are in Redis (a fraction; 0:
  as soon as the batch is stored), the host's link goes down. The dispatcher is given
  ``--outage`` seconds to give up by itself, then killed; the link comes back,
  ``dispatch status`` must show the games without a job, and ``dispatch reconcile``
  must enqueue exactly those: the batch then plays to the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drills.common import (
    PY,
    Audit,
    DrillError,
    Env,
    audit,
    make_net_env,
    new_tmp,
    opened,
    reconcile_until_done,
    wait_for,
)
from drills.netns import Cluster, Host, cluster

from snakebench.queueing import WORKER_COMMAND
from snakebench.services.batches import batch_progress
from snakebench.store import Batch, Game

Result = tuple[str, str, Audit, list[str]]
PROXY = Path(__file__).resolve().parent / "proxy.py"
THREAD_WORKER = "snakebench.queueing.thread_worker.ThreadWorker"
REDIS_PORT, PG_PORT = 6379, 5432


@contextmanager
def net_stack(args: argparse.Namespace, worker_hosts: int = 3) -> Iterator[tuple[Env, Cluster]]:
    """A cluster of hosts with Redis and PostgreSQL on its services host, this process
    pointed at them; everything removed at the end (the temp folder unless ``--keep``)."""
    tmp = new_tmp()
    with cluster(worker_hosts) as hosts, opened(make_net_env(tmp, hosts), args.keep) as env:
        yield env, hosts


def settle_and_audit(env: Env, batch_id: str) -> Audit:
    """Let the last commits land and the last worker log its job OK, then audit."""
    deadline = time.monotonic() + 30
    while batch_progress(batch_id).running and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    return audit(env, batch_id)


# --- slow-link ---------------------------------------------------------------------------


def start_proxy(host: Host, target: str, args: argparse.Namespace, tmp: Path) -> Path:
    """The proxy on ``host``'s own loopback, for Redis and PostgreSQL on ``target``;
    returns the file its stats are kept in."""
    stats, log = tmp / "proxy.json", tmp / "proxy.log"
    routes = [f"127.0.0.1:{port}={target}:{port}" for port in (REDIS_PORT, PG_PORT)]
    argv = [PY, str(PROXY), "--delay-ms", str(args.delay_ms), "--reset-rate",
            str(args.reset_rate), "--seed", str(args.seed), "--stats", str(stats)]  # fmt: skip
    for route in routes:
        argv += ["--route", route]
    process = host.popen(argv, log=log)
    wait_for(lambda: stats.exists() or process.poll() is not None, 20, "the proxy")
    if process.poll() is not None:
        raise DrillError(f"the proxy on {host.name} exited: {log.read_text()[-300:]}")
    return stats


def slow_link(args: argparse.Namespace) -> Result:
    """Workers on one host through a slow, lossy proxy; the others direct."""
    with net_stack(args) as (env, hosts):
        slow = hosts.workers[0]
        stats = start_proxy(slow, hosts.services.address, args, env.tmp)
        env.host_env[slow.name] = {
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/snakebench",
        }
        env.start_workers(args.workers)
        started = time.monotonic()
        batch_id = env.dispatch("--model-a", "greedy", "--model-b", "random", "--count",
                                str(args.games), "--max-rounds", str(args.max_rounds),
                                "--seed", str(args.seed), "--json")  # fmt: skip
        batch_id = json.loads(batch_id)["batch_id"]
        runs = reconcile_until_done(env, batch_id, args.deadline, args.workers, every=20)
        elapsed = time.monotonic() - started
        result = settle_and_audit(env, batch_id)
        counts = _proxy_totals(slow, stats)
        proxied = {w.name for w in env.all_workers if w.host is slow}
        slow_s, direct_s, games_slow, games_direct = _game_seconds(batch_id, proxied)
    ratio = slow_s / direct_s if direct_s else float("nan")
    extra = [
        f"  proxy on {slow.name} ({len(proxied)} of {len(env.all_workers)} workers started): "
        f"{counts['connections']} connections, {counts['resets']} reset, {counts['chunks']:,} "
        f"chunks delayed {args.delay_ms:g} ms; games through it {games_slow} "
        f"(mean {slow_s:.2f} s), direct {games_direct} (mean {direct_s:.2f} s): "
        f"x{ratio:.1f}; batch done in {elapsed:.0f} s, reconcile ran {runs} times, "
        f"{env.restarted} exited workers replaced; statuses {dict(result.statuses)}"
    ]
    load = f"{args.games} bot games, {args.workers} workers on 3 hosts"
    faults = f"+{args.delay_ms:g} ms/chunk, {counts['resets']} resets"
    return load, faults, result, extra


def _proxy_totals(host: Host, stats: Path) -> dict[str, Any]:
    """Stop the proxy (it writes its last stats at SIGTERM) and read them."""
    for process in host.processes:
        if PROXY.name in " ".join(str(a) for a in process.args) and process.poll() is None:
            process.terminate()
            process.wait(10)
    total: dict[str, Any] = json.loads(stats.read_text())["total"]
    return total


def _game_seconds(batch_id: str, proxied: set[str]) -> tuple[float, float, int, int]:
    """Mean seconds from start to end of the batch's completed games played by a
    proxied worker, and by a direct one, and how many of each."""
    slow: list[float] = []
    direct: list[float] = []
    games = Game.select().where(Game.batch == batch_id, Game.status == "completed")
    for game in games:
        if game.started_at and game.ended_at:
            seconds = (game.ended_at - game.started_at).total_seconds()
            (slow if game.worker in proxied else direct).append(seconds)
    mean = statistics.fmean
    return (mean(slow) if slow else 0.0, mean(direct) if direct else 0.0, len(slow), len(direct))


# --- dispatcher-cut ----------------------------------------------------------------------


def dispatcher_cut(args: argparse.Namespace) -> Result:
    """Cut the dispatcher off part-way through enqueueing a batch; reconcile finishes."""
    with net_stack(args, worker_hosts=2) as (env, hosts):
        # ThreadWorkers: the games are short bot games and the point is the submission;
        # a thread per game plays 10,000 of them faster than a fork per game.
        env.worker_command = f"{WORKER_COMMAND} -w {THREAD_WORKER}"
        env.extra_env["SNAKEBENCH_WORKER_THREADS"] = "4"
        env.start_workers(args.workers)
        conn = env.redis
        jobs_before = _jobs_created(conn)
        log = env.tmp / "dispatcher.log"
        argv = [PY, "-m", "snakebench.dispatch", "--model-a", "greedy", "--model-b", "random",
                "--count", str(args.games), "--max-rounds", str(args.max_rounds),
                "--seed", str(args.seed)]  # fmt: skip
        dispatcher = hosts.dispatcher.popen(argv, env=env.env(), log=log, cwd=env.tmp)
        cut_at = int(args.games * args.cut_at)

        def time_to_cut() -> bool:
            if dispatcher.poll() is not None:
                raise DrillError(f"the dispatcher ended before the cut: {log.read_text()[-500:]}")
            if cut_at == 0:  # as soon as the batch is stored: before (or as) it is enqueued
                return Batch.select().exists()
            return _jobs_created(conn) - jobs_before >= cut_at

        wait_for(time_to_cut, args.deadline / 4, f"{cut_at} jobs enqueued", every=0.02)
        hosts.dispatcher.cut()
        at_cut = _jobs_created(conn) - jobs_before
        try:
            gave_up = _wait_exit(dispatcher, args.outage)
            if not gave_up:
                dispatcher.kill()
                dispatcher.wait(10)
        finally:
            hosts.dispatcher.heal()
        batch_id = _only_batch()
        stored = batch_progress(batch_id).total
        without = int(json.loads(env.dispatch("status", "--json"))["games_without_job"])
        reenqueued = int(env.dispatch("reconcile", "--batch", batch_id).split()[1])
        runs = reconcile_until_done(env, batch_id, args.deadline, args.workers, every=20)
        result = settle_and_audit(env, batch_id)
        conn.close()
        told = log.read_text(errors="replace").strip().splitlines()  # before the clean-up
    said = told[-1][:200] if gave_up and told else "nothing (killed while hanging)"
    if stored != args.games:
        result.violations += 1
        result.notes.append(f"{stored} games stored, {args.games} asked for")
    if reenqueued != without:
        result.violations += 1
        result.notes.append(f"status showed {without} games without a job, reconcile "
                            f"enqueued {reenqueued}")  # fmt: skip
    extra = [
        f"  cut at {at_cut:,}/{args.games:,} jobs enqueued; dispatcher "
        f"{'gave up by itself' if gave_up else f'killed after {args.outage:g} s'}, saying: "
        f"{said}; batch stored with {stored:,} games; `dispatch status` showed {without} "
        f"without a job; first reconcile: {reenqueued}; {runs} reconcile passes after; "
        f"statuses {dict(result.statuses)}"
    ]
    load = f"{args.games:,} bot games submitted, {args.workers} ThreadWorkers x 4 on 2 hosts"
    return load, f"dispatcher's link cut at {at_cut:,} jobs enqueued", result, extra


def _jobs_created(conn: Any) -> int:
    """Jobs pushed onto a queue so far: Redis's count of RPUSH calls (RQ pushes a job
    with one; a worker never does), a cheap gauge however big the queue."""
    stats: dict[str, Any] = conn.info("commandstats")
    return int(stats.get("cmdstat_rpush", {}).get("calls", 0))


def _wait_exit(process: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _only_batch() -> str:
    batches = list(Batch.select())
    if len(batches) != 1:
        raise DrillError(f"{len(batches)} batches stored; the cut came before the write")
    return str(batches[0].id)
