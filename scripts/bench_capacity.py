"""Capacity at scale: what each concurrent LLM game costs Redis, PostgreSQL, the network
and its worker, measured across separate hosts, and what 10,000 games would need.

    python scripts/bench_capacity.py [--quick] [--concurrency 64 128 256]
        [--poolers direct,pgbouncer] [--processes 2] [--window 40]

The cluster is the drills' (scripts/drills/netns.py): a services host with its own
redis-server and PostgreSQL (pg_stat_statements preloaded) and, for the ``pgbouncer``
rows, PgBouncer in transaction mode in front of it; three worker hosts, each with
``--processes`` ThreadWorker processes (the documented worker command with ``-w``) and
its own fake provider on its loopback (300 ms + U(0, 100) ms per reply). Each row keeps
N 100-round games running (spares queued, as in scripts/bench_scale.py), warms up,
then measures one window on the services host: Redis commands (INFO commandstats),
SQL statements by kind (pg_stat_statements), rows written and commits
(pg_stat_database), bytes per service port (nftables counters), PostgreSQL
connections held (pg_stat_activity, and PgBouncer's SHOW POOLS, sampled each second),
CPU of the workers, Redis, PostgreSQL and PgBouncer (their idle rate subtracted), the
workers' Pss mid-window and MEMORY USAGE of every Redis key at the window's end.
Rounds come from the fake servers' move counters.

Figures are per round and per concurrent game, so that ``capacity_model`` scales them
to ``--games`` games on ``--machines`` machines (docs/SCALING.md); ``--json`` saves
them and ``--from-json`` prints a saved run's tables again. Root and network
namespaces are needed (as for the network drills); pgbouncer for its rows. The fake
providers' replies stay on each worker host's loopback: the bridge carries only the
services' traffic.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import redis
from benchlib import CpuMeter, descendants, host_speed, pss_kb, table
from capacity_model import Measured, project
from capacity_probes import PgProbe, PortBytes, redis_commands, redis_footprint, writes
from drills.common import Env, make_net_env, teardown
from drills.hostllm import HostFakeLLM
from drills.netns import Cluster, HostPostgres, NetnsUnavailable, cluster, unavailable_reason
from drills.pgbouncer import HostPgBouncer, pgbouncer_missing
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from snakebench.queueing import WORKER_COMMAND
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    cancel_batch,
    create_batch_games,
    enqueue_batch,
)
from snakebench.store import database, upsert_model

LATENCY_MS, JITTER_MS = 300.0, 100.0
MEAN_SLOWER_MOVE = (LATENCY_MS + 2 * JITTER_MS / 3) / 1000  # E[max of two U(0, jitter)]
ROUNDS = 100
QUEUES = ("games-high", "games", "games-low")
THREAD_WORKER = " -w snakebench.queueing.thread_worker.ThreadWorker"
PG_SETTINGS = (
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track=all",
    "max_connections=600",  # the direct rows hold one a game: 256 and more
)


@dataclass
class Stack:
    """The cluster's services as the bench reads them."""

    env: Env
    fake: HostFakeLLM
    bouncer: HostPgBouncer
    bytes: PortBytes
    pg: PgProbe
    redis: redis.Redis
    pids: dict[str, list[int]] = field(default_factory=dict)  # service: process roots


def measure(stack: Stack, args: argparse.Namespace, n: int, pooler: str) -> Measured:
    """Keep ``n`` games running with workers on ``pooler``; measure one window."""
    env = stack.env
    stack.redis.flushdb()
    processes = args.processes * args.hosts
    env.extra_env = {
        "SNAKEBENCH_WORKER_THREADS": str(math.ceil(n / processes)),
        "DATABASE_URL": stack.bouncer.url if pooler == "pgbouncer" else env.db_url,
    }
    env.start_workers(processes, wait=180)
    try:
        idle = _idle_cpu(stack, args.idle)
        games = n * (int(args.window / 20) + 3)  # games end early: spares
        spec = BatchSpec("fake-a", "fake-b", count=games, max_rounds=ROUNDS, seed=n)
        batch = create_batch_games(spec, env.settings)
        enqueue_batch(batch.id, stack.redis, settings=env.settings)
        time.sleep(args.warmup)
        done_before = _finished(batch.id)
        workers = [w.process.pid for w in env.workers]
        meters = {"workers": CpuMeter(workers)}
        meters.update({name: CpuMeter(roots) for name, roots in stack.pids.items()})
        stack.redis.config_resetstat()
        stack.pg.reset()
        pg_before = stack.pg.counts()
        stack.bytes.reset()
        bouncer_before = stack.bouncer.stats() if pooler == "pgbouncer" else {}
        start, moves0 = time.monotonic(), stack.fake.moves()
        seen = _watch(stack, args, pooler, start, workers)
        seconds, moves = time.monotonic() - start, stack.fake.moves() - moves0
        cpu = {name: meter.cores()[0] * seconds for name, meter in meters.items()}
        for name, rate in idle.items():  # the services' own upkeep is no game's
            cpu[name] = max(0.0, cpu[name] - rate * seconds)
        own = Counter({"zcard": len(seen["running"]) * len(QUEUES)})  # _watch's
        commands, pg_after = redis_commands(stack.redis, own), stack.pg.counts()
        sent = stack.bytes.read()
        bouncer_after = stack.bouncer.stats() if pooler == "pgbouncer" else {}
        top_statements = stack.pg.top()
        finished_ids = {
            i for q in QUEUES for i in FinishedJobRegistry(q, stack.redis).get_job_ids()
        }
        footprint = redis_footprint(stack.redis, finished_ids)
        finished = _finished(batch.id) - done_before
        cancel_batch(batch.id, stack.redis)
        database.close()
    finally:
        env.stop_workers(grace=30)
    statements = pg_after.statements - pg_before.statements
    xacts = bouncer_after.get("total_xact_count", 0) - bouncer_before.get("total_xact_count", 0)
    xact_us = bouncer_after.get("total_xact_time", 0) - bouncer_before.get("total_xact_time", 0)
    return Measured(
        pooler=pooler,
        games=n,
        processes=processes,
        seconds=seconds,
        rounds=moves / 2,
        ideal_rounds=seconds * n / MEAN_SLOWER_MOVE,
        finished=finished,
        running=statistics.mean(seen["running"]),
        redis_commands=sum(commands.values()),
        top_commands=dict(commands.most_common(6)),
        statements=sum(statements.values()),
        statement_kinds=dict(statements.most_common()),
        top_statements=top_statements,
        sql_writes=writes(statements),
        rows_written=pg_after.rows_written - pg_before.rows_written,
        commits=pg_after.commits - pg_before.commits,
        bytes=sent,
        cpu=cpu,
        idle_cpu=idle,
        server_connections=seen["server"],
        client_connections=seen["clients"],
        pool_waiting=seen["waiting"],
        bouncer_xacts=xacts,
        bouncer_xact_us=xact_us,
        pool_size=stack.bouncer.pool_size if pooler == "pgbouncer" else 0,
        worker_pss_kb=seen["pss"][0],
        redis_footprint=footprint,
        max_rounds=ROUNDS,
        exec_ms=pg_after.exec_ms - pg_before.exec_ms,
    )


def _idle_cpu(stack: Stack, seconds: float) -> dict[str, float]:
    """Cores each service uses with the workers up and no game: its upkeep (Redis's
    cron, PostgreSQL's background writers, the workers' heartbeats), subtracted from
    the window so that what is left is the games' cost."""
    meters = {name: CpuMeter(roots) for name, roots in stack.pids.items()}
    time.sleep(seconds)
    return {name: meter.cores()[0] for name, meter in meters.items()}


def _finished(batch_id: str) -> int:
    progress = batch_progress(batch_id)
    database.close()  # hold no connection of this process's in the window
    return int(progress.completed + progress.failed + progress.void)


def _watch(
    stack: Stack, args: argparse.Namespace, pooler: str, start: float, workers: list[int]
) -> dict[str, list[int]]:
    """Sample connections and running games each second; memory once, mid-window."""
    seen: dict[str, list[int]] = {"running": [], "server": [], "clients": [], "pss": []}
    seen["waiting"] = []  # clients waiting for a server connection (pool too small)
    registries = [StartedJobRegistry(q, connection=stack.redis) for q in QUEUES]
    while time.monotonic() < start + args.window:
        seen["running"].append(sum(stack.redis.zcard(r.key) for r in registries))
        seen["server"].append(stack.pg.connections())
        if pooler == "pgbouncer":
            pools = stack.bouncer.pools()
            seen["clients"].append(pools.get("cl_active", 0) + pools.get("cl_waiting", 0))
            seen["waiting"].append(pools.get("cl_waiting", 0))
        if not seen["pss"] and time.monotonic() >= start + args.window / 2:
            family = [p for pid in workers for p in [pid, *descendants(pid)]]
            seen["pss"].append(sum(pss_kb(pid) for pid in family))
        time.sleep(1.0)
    if not seen["clients"]:
        seen["clients"] = seen["server"]  # direct: every client is a server connection
    return seen


def build(tmp: Path, args: argparse.Namespace, hosts: Cluster) -> Stack:
    """The services (PostgreSQL with pg_stat_statements, PgBouncer when a row needs it),
    the byte counters, the fake provider on every worker host and the two models."""
    env = make_net_env(tmp, hosts, postgres=HostPostgres(hosts.services, tmp, settings=PG_SETTINGS))
    env.worker_command = WORKER_COMMAND + THREAD_WORKER
    assert env.host_postgres is not None
    bouncer = HostPgBouncer(env.host_postgres, tmp, pool_size=args.pool_size)
    fake = HostFakeLLM(hosts.workers, tmp, LATENCY_MS, JITTER_MS)
    stack = Stack(
        env,
        fake,
        bouncer,
        PortBytes(hosts.services, hosts.network.gateway),
        PgProbe(hosts.services.address),
        env.redis,
    )
    if "pgbouncer" in args.poolers:
        bouncer.start()
    fake.start()
    env.open()
    for name in ("fake-a", "fake-b"):
        upsert_model(name, provider="openai", model_slug=name, base_url=fake.base_url)
    pids = {"redis": env.redis_server.process, "postgres": env.host_postgres.process}
    pids["pgbouncer"] = bouncer.process
    stack.pids = {name: [p.pid] for name, p in pids.items() if p is not None}
    return stack


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument(
        "--poolers", default="direct,pgbouncer", help="direct and/or pgbouncer (rows for each)"
    )
    parser.add_argument("--hosts", type=int, default=3, help="worker hosts (default 3)")
    parser.add_argument(
        "--processes", type=int, default=2, help="ThreadWorker processes per worker host"
    )
    parser.add_argument("--pool-size", type=int, default=10, help="PgBouncer's server pool")
    parser.add_argument("--window", type=float, default=40.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before a window")
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds measuring the services' idle CPU"
    )
    parser.add_argument("--games", type=int, default=10_000, help="games the projection plans")
    parser.add_argument("--machines", type=int, default=100, help="worker machines planned")
    parser.add_argument(
        "--plan-round-seconds",
        type=float,
        nargs="+",
        default=[MEAN_SLOWER_MOVE],
        help="seconds a round takes in the projection (default: the bench's 0.3667); "
        "one table each",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--from-json", type=Path, help="print the tables of a --json file again; run nothing"
    )
    parser.add_argument("--quick", action="store_true", help="12 games, 15 s windows")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.concurrency, args.window, args.warmup = [12], 15.0, 6.0
    args.poolers = args.poolers.split(",")
    unknown = set(args.poolers) - {"direct", "pgbouncer"}
    if unknown:
        parser.error(f"--poolers takes direct and/or pgbouncer, not {', '.join(sorted(unknown))}")
    if min(args.concurrency) < 1 or min(args.hosts, args.processes, args.pool_size) < 1:
        parser.error("--concurrency, --hosts, --processes and --pool-size must be positive")
    if min(args.plan_round_seconds) <= 0 or min(args.games, args.machines) < 1:
        parser.error("--plan-round-seconds, --games and --machines must be positive")
    return args


def main() -> None:
    args = parse_args()
    if args.from_json:
        try:
            saved = json.loads(args.from_json.read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"bench_capacity: cannot read {args.from_json}: {exc}") from None
        known = {f.name for f in fields(Measured)}
        report([Measured(**{k: v for k, v in m.items() if k in known}) for m in saved], args)
        return
    reason = unavailable_reason() or ("pgbouncer" in args.poolers and pgbouncer_missing())
    if reason:
        raise SystemExit(f"bench_capacity: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-capacity-"))
    print(host_speed(), flush=True)
    results: list[Measured] = []
    try:
        with cluster(args.hosts) as hosts:
            stack = build(tmp, args, hosts)
            try:
                for n in args.concurrency:
                    for pooler in args.poolers:
                        results.append(measure(stack, args, n, pooler))
                        print(json.dumps(asdict(results[-1])), flush=True)
            finally:
                stack.pg.close()
                stack.bouncer.stop()
                teardown(stack.env)
    except NetnsUnavailable as exc:
        raise SystemExit(f"bench_capacity: {exc}") from None
    finally:
        database.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args)


def report(results: list[Measured], args: argparse.Namespace) -> None:
    labels = [f"{m.games} {m.pooler}" for m in results]
    rows = [[name, *values] for name, values in _columns(results)]
    table(
        f"Per concurrent LLM game, {args.hosts} worker hosts x {args.processes} ThreadWorker "
        f"processes, fake provider {LATENCY_MS:.0f} ms + U(0, {JITTER_MS:.0f}) ms, "
        f"{ROUNDS}-round games, {args.window:.0f} s window per column",
        ["figure", *labels],
        rows,
    )
    print(f"  ideal rounds/s = N / {MEAN_SLOWER_MOVE:.4f} s; bytes: packets on the services host")
    for seconds in args.plan_round_seconds:
        plan = project(results, games=args.games, machines=args.machines, move_seconds=seconds)
        table(plan.title, plan.header, plan.rows)
        for line in plan.notes:
            print(f"  {line}")
    if not args.from_json:
        print(f"  after: {host_speed()}")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in results], indent=1))


def _columns(results: list[Measured]) -> list[tuple[str, list[str]]]:
    def each(fmt: str, value: object) -> list[str]:
        return [fmt.format(value(m)) if callable(value) else "" for m in results]

    top = Counter[str]()
    for m in results:
        top.update(m.top_commands)
    return [
        ("worker processes", each("{}", lambda m: m.processes)),
        ("running mean", each("{:.1f}", lambda m: m.running)),
        (
            "rounds/s (ideal)",
            [f"{m.rate:.1f} ({m.running / MEAN_SLOWER_MOVE:.1f})" for m in results],
        ),
        ("efficiency", each("{:.0%}", lambda m: m.efficiency)),
        ("games finished", each("{}", lambda m: m.finished)),
        ("worker CPU ms/round", each("{:.1f}", lambda m: m.per_round(m.cpu["workers"]) * 1e3)),
        ("worker Pss MB/game", each("{:.1f}", lambda m: m.worker_pss_kb / 1024 / m.running)),
        ("Redis commands/round", each("{:.2f}", lambda m: m.per_round(m.redis_commands))),
        ("Redis commands/s/game", each("{:.2f}", lambda m: m.per_game_s(m.redis_commands))),
        ("  top: " + ", ".join(k for k, _ in top.most_common(4)), [""] * len(results)),
        ("Redis CPU us/command", each("{:.1f}", lambda m: m.redis_us_per_command)),
        ("Redis bytes/round in+out", each("{:,.0f}", lambda m: m.per_round(m.traffic("redis")))),
        ("Redis KB/live job", each("{:.1f}", lambda m: m.job_kb("live job"))),
        ("Redis KB/finished job", each("{:.1f}", lambda m: m.job_kb("finished job"))),
        ("Redis KB other", each("{:.0f}", lambda m: m.redis_footprint["other"][1] / 1024)),
        ("SQL statements/round", each("{:.2f}", lambda m: m.per_round(m.statements))),
        ("SQL writes/round", each("{:.2f}", lambda m: m.per_round(m.sql_writes))),
        ("rows written/round", each("{:.2f}", lambda m: m.per_round(m.rows_written))),
        ("commits/round", each("{:.2f}", lambda m: m.per_round(m.commits))),
        ("PG bytes/round in+out", each("{:,.0f}", lambda m: m.per_round(m.traffic("postgres")))),
        ("PgBouncer bytes/round", each("{:,.0f}", lambda m: m.per_round(m.traffic("pgbouncer")))),
        ("PG CPU us/statement", each("{:.0f}", lambda m: m.pg_us_per_statement)),
        ("PG exec us/statement", each("{:.0f}", lambda m: m.exec_ms / max(m.statements, 1) * 1e3)),
        ("PG server conns mean/max", [m.connections(m.server_connections) for m in results]),
        ("clients mean/max", [m.connections(m.client_connections) for m in results]),
        ("PgBouncer pool / xact us / waiting", [m.bouncer_line for m in results]),
    ]


if __name__ == "__main__":
    main()
