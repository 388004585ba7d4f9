"""The drills themselves. Each takes the parsed arguments and returns
``(load, faults injected, audit, extra lines)``; scripts/drill.py times and prints it.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from drills.common import (
    Audit,
    DrillError,
    Env,
    audit,
    kill_pid,
    make_env,
    new_tmp,
    reconcile_until_done,
    teardown,
    wait_for,
)

from snakebench.batches import BatchSpec, batch_progress, submit_batch
from snakebench.localstack.processes import process_identity
from snakebench.providers.fake_faults import FakeOptions
from snakebench.providers.fake_server import FakeLLMServer
from snakebench.store import Game, Participant, upsert_model

Result = tuple[str, str, Audit, list[str]]
ORPHAN_GRACE = 5.0  # seconds a SIGKILLed worker's children get to die with it


@contextmanager
def stack(args: argparse.Namespace, backend: str = "sqlite") -> Iterator[Env]:
    tmp = new_tmp()
    env = make_env(tmp, backend)
    try:
        env.open()
        yield env
    finally:
        teardown(env)
        if args.keep:
            print(f"  (kept {tmp})")
        else:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)


@contextmanager
def fake_models(options: FakeOptions) -> Iterator[FakeLLMServer]:
    """Two OpenAI-compatible models behind one fake server on loopback."""
    with FakeLLMServer(options) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1")
        yield server


def submit(env: Env, args: argparse.Namespace, a: str = "fake-a", b: str = "fake-b") -> str:
    spec = BatchSpec(a, b, count=args.games, max_rounds=args.max_rounds, seed=args.seed)
    conn = env.redis
    batch = submit_batch(spec, conn, settings=env.settings)
    conn.close()
    return str(batch.id)


def settle(batch_id: str, seconds: float = 30) -> None:
    """Give games still running a moment to end; what is left counts as lost."""
    deadline = time.monotonic() + seconds
    while batch_progress(batch_id).running and time.monotonic() < deadline:
        time.sleep(0.5)


def done_fraction(batch_id: str) -> float:
    progress = batch_progress(batch_id)
    return progress.done / progress.total


def recover(env: Env, args: argparse.Namespace, batch_id: str) -> tuple[int, Audit]:
    """After the fault: reconcile until the batch is done, let the last commits land,
    then audit. Returns how many reconcile passes it took, and the audit."""
    runs = reconcile_until_done(env, batch_id, args.deadline / 2, args.workers)
    settle(batch_id)
    time.sleep(2)  # the last worker logs its job OK after the horse commits
    return runs, audit(env, batch_id)


# --- 1. worker-kill ---------------------------------------------------------------------


def worker_kill(args: argparse.Namespace) -> Result:
    """SIGKILL a random worker (with its horse) every few seconds, start another."""
    with stack(args) as env, fake_models(FakeOptions(latency_ms=50, seed=args.seed)):
        env.start_workers(args.workers)
        batch_id = submit(env, args)
        rng = random.Random(args.seed)
        kills = horses = 0
        chaos_end = time.monotonic() + args.deadline / 2
        while time.monotonic() < chaos_end:
            time.sleep(args.kill_every)
            progress = batch_progress(batch_id)
            if progress.queued == 0:  # nothing left to play but what the kills stranded
                break
            live = env.live_workers()
            if live:
                victim = rng.choice(live)
                horses += len(victim.horses())
                victim.kill()
                env.workers.remove(victim)
                kills += 1
            env.start_workers(args.workers - len(env.live_workers()))
        stranded = batch_progress(batch_id).running
        runs, result = recover(env, args, batch_id)
        extra = [
            f"  {kills} workers SIGKILLed ({horses} mid-game), {stranded} games stranded "
            f"running, reconcile ran {runs} times; statuses {dict(result.statuses)}"
        ]
    return (
        f"{args.games} LLM games, {args.workers} workers",
        f"{kills} SIGKILLs",
        result,
        extra,
    )


# --- 1b. orphan-horse -------------------------------------------------------------------


def orphan_horse(args: argparse.Namespace) -> Result:
    """SIGKILL the main process of a random busy worker (not its children) every few
    seconds. Its work horse and scheduler must die with it: a horse that plays on bills
    moves while reconcile hands its game to another worker. Every child still alive
    ``ORPHAN_GRACE`` s after its worker's death counts as a duplicated run."""
    with stack(args) as env, fake_models(FakeOptions(latency_ms=50, seed=args.seed)) as fake:
        env.start_workers(args.workers)
        batch_id = submit(env, args)
        rng = random.Random(args.seed)
        kills = horses = 0
        orphans: dict[int, str | None] = {}
        chaos_end = time.monotonic() + args.deadline / 2
        while time.monotonic() < chaos_end:
            time.sleep(args.kill_every)
            if batch_progress(batch_id).queued == 0:
                break
            busy = [w for w in env.live_workers() if w.horses()]
            if busy:
                victim = rng.choice(busy)
                horses += len(victim.horses())
                orphans.update(victim.kill_main())
                env.workers.remove(victim)
                kills += 1
            env.start_workers(args.workers - len(env.live_workers()))
        time.sleep(ORPHAN_GRACE)
        survivors = [pid for pid, born in orphans.items() if process_identity(pid) == born]
        for pid in survivors:
            kill_pid(pid)
        runs, result = recover(env, args, batch_id)
        moves = sum(p.moves for p in Participant.select().join(Game).where(Game.batch == batch_id))
        requests = int(fake.stats()["total"]["requests"])
    if survivors:
        result.duplicated += len(survivors)
        result.notes.append(f"{len(survivors)} children outlived their SIGKILLed worker")
    extra = [
        f"  {kills} worker main processes SIGKILLed ({horses} mid-game), {len(orphans)} "
        f"children, {len(survivors)} alive {ORPHAN_GRACE:.0f} s later; reconcile ran {runs} "
        f"times; provider requests {requests:,} for {moves:,} recorded moves (the rest: "
        f"the killed runs' moves before the kill); statuses {dict(result.statuses)}"
    ]
    return (f"{args.games} LLM games, {args.workers} workers", f"{kills} SIGKILLs", result, extra)


# --- 2. redis-restart -------------------------------------------------------------------


def redis_restart(args: argparse.Namespace) -> Result:
    """Stop the private Redis mid-batch and start it empty on the same port."""
    with stack(args) as env, fake_models(FakeOptions(latency_ms=50, seed=args.seed)):
        env.start_workers(args.workers)
        batch_id = submit(env, args)
        wait_for(lambda: done_fraction(batch_id) >= 0.3, args.deadline / 2, "30% done", 0.2)
        before = batch_progress(batch_id)
        env.redis_server.stop()
        time.sleep(args.outage)
        env.redis_server.start()
        time.sleep(3)  # let the workers find out
        survivors = len(env.live_workers())
        env.start_workers(args.workers - survivors)
        runs, result = recover(env, args, batch_id)
        extra = [
            f"  Redis lost at {before.done}/{before.total} done ({before.running} running, "
            f"{before.queued} queued); {survivors}/{args.workers} workers survived it; "
            f"reconcile ran {runs} times; {env.restarted} exited workers replaced; "
            f"statuses {dict(result.statuses)}"
        ]
    return (
        f"{args.games} LLM games, {args.workers} workers",
        f"Redis emptied ({args.outage:g} s down)",
        result,
        extra,
    )


# --- 3. deploy --------------------------------------------------------------------------


def deploy(args: argparse.Namespace) -> Result:
    """SIGTERM every worker mid-batch (warm shutdown), then start new ones."""
    with stack(args) as env, fake_models(FakeOptions(latency_ms=50, seed=args.seed)):
        env.start_workers(args.workers)
        batch_id = submit(env, args)
        wait_for(lambda: done_fraction(batch_id) >= 0.3, args.deadline / 2, "30% done", 0.2)
        before = batch_progress(batch_id)
        old = list(env.workers)
        mid_game = sum(1 for w in old if w.horses())
        for worker in old:
            worker.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        for worker in old:
            try:
                worker.process.wait(max(1.0, 60 - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                worker.kill()
        shutdown = time.monotonic() - started
        codes = sorted({w.process.returncode for w in old})
        env.workers.clear()
        after = batch_progress(batch_id)
        env.start_workers(args.workers)
        runs, result = recover(env, args, batch_id)
        extra = [
            f"  SIGTERM at {before.done}/{before.total} done, {mid_game} workers mid-game; "
            f"old workers exited in {shutdown:.1f} s (codes {codes}) leaving "
            f"{after.running} running; reconcile ran {runs} times; "
            f"statuses {dict(result.statuses)}"
        ]
    return (
        f"{args.games} LLM games, {args.workers} workers",
        f"SIGTERM x{len(old)}",
        result,
        extra,
    )


# --- 4. provider-faults -----------------------------------------------------------------


def provider_faults(args: argparse.Namespace) -> Result:
    """429 / 500 / timeout / malformed at ``--rate`` each; short timeouts and retries."""
    rate = args.rate
    options = FakeOptions(
        latency_ms=20,
        error_rate=rate,
        rate_limit_rate=rate,
        timeout_rate=rate,
        malformed_rate=rate,
        retry_after=0.1,
        hang_seconds=1.0,
        seed=args.seed,
    )
    with stack(args) as env:
        env.extra_env.update(
            SNAKEBENCH_MOVE_TIMEOUT="0.5",
            SNAKEBENCH_PROVIDER_RETRIES="10",
            SNAKEBENCH_RETRY_BASE_DELAY="0.02",
            SNAKEBENCH_RETRY_MAX_DELAY="0.2",
        )
        env.open()
        with fake_models(options) as server:
            env.start_workers(args.workers)
            batch_id = submit(env, args)
            wait_for(lambda: batch_progress(batch_id).finished, args.deadline, "the batch", 0.5)
            time.sleep(2)
            result = audit(env, batch_id, final=("completed", "void"))
            stats: dict[str, Any] = server.stats()["total"]
            invalid = sum(
                p.invalid_moves
                for p in Participant.select().join(Game).where(Game.batch == batch_id)
            )
            malformed = int(stats.get("malformed", 0))
            if invalid != malformed:
                result.wrongly_scored += abs(invalid - malformed)
                result.notes.append(
                    f"invalid moves in the DB {invalid} != malformed replies sent {malformed}"
                )
            voids = [g for g in Game.select().where(Game.batch == batch_id, Game.status == "void")]
            unexplained = [g.id for g in voids if not g.error]
            if unexplained:
                result.wrongly_scored += len(unexplained)
                result.notes.append(f"void without an error: {unexplained[:3]}")
            extra = [
                f"  fake server sent {stats}; DB invalid moves {invalid}; "
                f"statuses {dict(result.statuses)}"
            ]
    faults = f"429/500/timeout/malformed {rate:.0%} each"
    return f"{args.games} LLM games, {args.workers} workers", faults, result, extra


# --- 5. db-restart ----------------------------------------------------------------------


def db_restart(args: argparse.Namespace) -> Result:
    """Restart the machine's PostgreSQL once mid-batch."""
    if os.environ.get("CI", "").lower() == "true" and not args.allow_db_restart:
        raise DrillError("db-restart restarts the shared PostgreSQL: refused under CI=true")
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        raise DrillError("no cluster under /etc/postgresql")
    with stack(args, "postgres") as env, fake_models(FakeOptions(latency_ms=50, seed=args.seed)):
        env.start_workers(args.workers)
        batch_id = submit(env, args)
        wait_for(lambda: done_fraction(batch_id) >= 0.3, args.deadline / 2, "30% done", 0.2)
        from snakebench.store import database

        database.close()
        before = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
            check=True,
            timeout=60,
        )
        restart = time.monotonic() - before
        time.sleep(2)
        alive = len(env.live_workers())
        env.start_workers(args.workers - alive)
        runs, result = recover(env, args, batch_id)
        extra = [
            f"  PostgreSQL restart took {restart:.1f} s; {alive}/{args.workers} workers "
            f"survived; reconcile ran {runs} times; statuses {dict(result.statuses)}"
        ]
    return (
        f"{args.games} LLM games, {args.workers} workers, PostgreSQL",
        "1 PostgreSQL restart",
        result,
        extra,
    )


# --- 6. load ----------------------------------------------------------------------------


def load(args: argparse.Namespace) -> Result:
    """Many short bot games on many workers against PostgreSQL: throughput, waits."""
    with stack(args, args.backend) as env:
        env.start_workers(args.workers)
        started = time.monotonic()
        batch_id = submit(env, args, "greedy", "random")
        wait_for(lambda: batch_progress(batch_id).finished, args.deadline, "the batch", 0.5)
        elapsed = time.monotonic() - started
        time.sleep(2)
        result = audit(env, batch_id)
        games = list(Game.select().where(Game.batch == batch_id, Game.started_at.is_null(False)))
        waits = sorted((g.started_at - g.created_at).total_seconds() for g in games)
        p50 = statistics.median(waits) if waits else float("nan")
        p99 = waits[min(len(waits) - 1, int(0.99 * len(waits)))] if waits else float("nan")
        errors = sum(1 for g in games if g.error)
        extra = [
            f"  {args.games / elapsed * 60:.0f} games/min ({elapsed:.1f} s from submit to "
            f"done); queue wait p50 {p50:.1f} s, p99 {p99:.1f} s; {errors} games with "
            f"errors; statuses {dict(result.statuses)}"
        ]
    return (
        f"{args.games} bot games, {args.workers} workers, {args.backend}",
        "none",
        result,
        extra,
    )


DrillFn = Callable[[argparse.Namespace], Result]
DRILLS: dict[str, tuple[DrillFn, str, dict[str, Any]]] = {
    "worker-kill": (
        worker_kill,
        "SIGKILL random workers mid-batch; reconcile finishes it",
        {"games": 200, "workers": 4, "max_rounds": 30, "deadline": 600},
    ),
    "orphan-horse": (
        orphan_horse,
        "SIGKILL busy workers' main processes only; their horses must die with them",
        {"games": 100, "workers": 4, "max_rounds": 30, "deadline": 400},
    ),
    "redis-restart": (
        redis_restart,
        "private Redis stopped and started empty mid-batch",
        {"games": 100, "workers": 4, "max_rounds": 30, "deadline": 300},
    ),
    "deploy": (
        deploy,
        "SIGTERM every worker mid-batch, new workers finish",
        {"games": 100, "workers": 4, "max_rounds": 30, "deadline": 300},
    ),
    "provider-faults": (
        provider_faults,
        "fake provider: 429, 500, timeouts, malformed replies",
        {"games": 60, "workers": 4, "max_rounds": 30, "deadline": 300},
    ),
    "db-restart": (
        db_restart,
        "PostgreSQL restarted once mid-batch (shared server!)",
        {"games": 100, "workers": 4, "max_rounds": 30, "deadline": 300},
    ),
    "load": (
        load,
        "2,000 short bot games on 8 workers, PostgreSQL",
        {"games": 2000, "workers": 8, "max_rounds": 30, "deadline": 900},
    ),
}
