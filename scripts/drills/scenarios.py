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
from collections import Counter
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
from drills.net_sentinel import sentinel_failover

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games.request_limits import WINDOW_MARGIN, WINDOW_SECONDS
from snakebench.localstack.processes import process_identity
from snakebench.queueing import PLAIN_WORKER_COMMAND, WORKER_COMMAND
from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.store import Game, Participant, Spend, ledger_total, upsert_model
from snakebench.store.limit_queries import set_limit

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
def fake_models(options: FakeOptions, **prices: Any) -> Iterator[FakeLLMServer]:
    """Two OpenAI-compatible models behind one fake server on loopback (``prices``: their
    price and output-cap columns, e.g. ``price_input_per_m``)."""
    with FakeLLMServer(options) as server:
        for name in ("fake-a", "fake-b"):
            upsert_model(name, provider="openai", model_slug=name, base_url=f"{server.url}/v1",
                         **prices)  # fmt: skip
        yield server


def submit(
    env: Env,
    args: argparse.Namespace,
    a: str = "fake-a",
    b: str = "fake-b",
    max_cost: float | None = None,
) -> str:
    spec = BatchSpec(a, b, count=args.games, max_rounds=args.max_rounds, seed=args.seed,
                     max_cost=max_cost)  # fmt: skip
    conn = env.redis
    # A capped batch goes out over its worst case (--force): the cap is what is drilled.
    batch = submit_batch(spec, conn, settings=env.settings, force=max_cost is not None)
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


# A game a SIGKILL strands comes back only when RQ lets go of its job: a started job's
# entry lives until its worker's heartbeat lapses (90 s), a job caught in RQ's
# intermediate list until reconcile has seen it there a minute apart. So recovery gets
# at least this long, whatever the deadline: a kill in the last seconds of the chaos
# must still be recoverable in time: a heartbeat's 90 s, reconcile's cadence and the
# game's replay under five drills' load (a 100 s recovery, then two 120 s ones, missed
# by seconds in CI: one game still queued or replaying at the end).
MIN_RECOVERY = 150.0


def recovery_window(args: argparse.Namespace) -> float:
    """Seconds of the deadline kept for recovery; the chaos gets the rest."""
    return max(args.deadline / 2, min(MIN_RECOVERY, args.deadline * 0.75))


def recover(env: Env, args: argparse.Namespace, batch_id: str) -> tuple[int, Audit]:
    """After the fault: reconcile until the batch is done, let the last commits land,
    then audit. Returns how many reconcile passes it took, and the audit."""
    runs = reconcile_until_done(env, batch_id, recovery_window(args), args.workers)
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
        chaos_end = time.monotonic() + args.deadline - recovery_window(args)
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
        chaos_end = time.monotonic() + args.deadline - recovery_window(args)
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
# --- 8. budget --------------------------------------------------------------------------

THREAD_WORKER = "snakebench.queueing.thread_worker.ThreadWorker"
# Cheap enough that a cap takes several games to fill, dear enough to fill it in seconds.
DRILL_PRICES = {"price_input_per_m": 1.0, "price_output_per_m": 4.0, "max_completion_tokens": 100}


def budget(args: argparse.Namespace) -> Result:
    """Spending caps under concurrency, three batches each capped at ``--cap`` (x2 for the
    threaded one) and far bigger than it:

    1. ``--workers`` plain ``rq worker`` processes; once half the cap is spent, one busy
       worker's horse and another whole worker are SIGKILLed (reconcile finishes);
    2. ``--thread-workers`` ThreadWorkers x ``--threads`` games each;
    3. plain workers again, the batch cancelled (as a monitor does) at half its cap,
       stopping games mid-call.

    Each must end with the ledger at or under its cap (0.00% over) and no answered
    provider request missing from the ledger (calls cut off mid-flight stay on it at
    their worst case, "unsettled")."""
    total = Audit(0, Counter(), 0, 0, 0, [])
    lines: list[str] = []
    options = FakeOptions(latency_ms=50, seed=args.seed)
    with stack(args, args.backend) as env, fake_models(options, **DRILL_PRICES) as fake:
        env.worker_command = PLAIN_WORKER_COMMAND
        env.start_workers(args.workers)
        # The SIGKILLed worker's game waits 60-90 s for its heartbeat to lapse: this batch
        # gets 60% of the deadline, the other two 20% each.
        kill = _kill_a_horse if args.horse_only else _kill_a_horse_and_a_worker
        kills = _capped_batch(env, fake, args, args.cap, total, lines, kill, share=0.6)
        env.stop_workers()
        env.worker_command = f"{WORKER_COMMAND} -w {THREAD_WORKER}"
        env.extra_env["SNAKEBENCH_WORKER_THREADS"] = str(args.threads)
        env.start_workers(args.thread_workers)
        _capped_batch(env, fake, args, 2 * args.cap, total, lines, None, args.thread_workers)
        env.stop_workers()
        env.worker_command = PLAIN_WORKER_COMMAND
        env.start_workers(args.workers)
        _capped_batch(env, fake, args, args.cap, total, lines, _cancel)
    load = (f"3 x {args.games} LLM games: {args.workers} plain workers, "
            f"{args.thread_workers} ThreadWorkers x {args.threads}")  # fmt: skip
    return load, f"caps ${args.cap:g}/${2 * args.cap:g}; {kills}; a cancel", total, lines


Disturb = Callable[[Env, str], str]


def _kill_a_horse_and_a_worker(env: Env, batch_id: str, whole_worker: bool = True) -> str:
    busy = [w for w in env.live_workers() if w.horses()]
    if len(busy) < 1 + whole_worker:
        return "nothing to SIGKILL (too few busy workers)"
    for pid in busy[0].horses():
        kill_pid(pid)
    if not whole_worker:
        return "1 horse SIGKILLed"
    busy[1].kill()
    env.workers.remove(busy[1])
    return "1 horse + 1 worker SIGKILLed"


def _kill_a_horse(env: Env, batch_id: str) -> str:
    return _kill_a_horse_and_a_worker(env, batch_id, whole_worker=False)


def _cancel(env: Env, batch_id: str) -> str:
    env.dispatch("cancel", batch_id)
    return "batch cancelled mid-play"


def _capped_batch(
    env: Env,
    fake: FakeLLMServer,
    args: argparse.Namespace,
    cap: float,
    total: Audit,
    lines: list[str],
    disturb: Disturb | None,
    workers: int | None = None,
    share: float = 0.2,
) -> str:
    """Play one batch capped at ``cap``, disturbed at half of it; audit it, its money
    and its ledger into ``total`` and ``lines``; returns what the disturbance did."""
    before = _answered(fake)
    batch_id = submit(env, args, max_cost=cap)
    done = "undisturbed"
    if disturb is not None:

        def half_spent() -> bool:
            return ledger_total(batch_id=batch_id) >= cap / 2 or batch_progress(batch_id).finished

        wait_for(half_spent, args.deadline * share, "half the cap spent")
        done = disturb(env, batch_id)
    runs = reconcile_until_done(env, batch_id, args.deadline * share, workers or args.workers)
    settle(batch_id)
    time.sleep(2)  # the last worker logs its job OK after the horse commits
    result = audit(env, batch_id, final=("completed", "cancelled"))
    answered = _answered(fake) - before
    rows = Spend.select().where(Spend.batch_id == batch_id)
    on_books = rows.where(Spend.status.in_(["answered", "reserved"])).count()
    unsettled = rows.where(Spend.status == "reserved").count()
    spent = ledger_total(batch_id=batch_id)
    over = max(0.0, spent - cap) / cap * 100
    if spent > cap:
        result.violations += 1
        result.notes.append(f"batch {batch_id[:8]}: ${spent:.4f} spent over its ${cap:g} cap")
    if answered > on_books:
        result.violations += 1
        result.notes.append(f"batch {batch_id[:8]}: {answered - on_books} answered requests "
                            "missing from the ledger")  # fmt: skip
    lines.append(
        f"  cap ${cap:g} ({done}; reconcile ran {runs} times): ledger ${spent:.4f} = "
        f"{spent / cap:.2%} of the cap, {over:.2f}% over; provider answered {answered:,} "
        f"requests, ledger holds {on_books:,} ({unsettled} unsettled, at worst case); "
        f"statuses {dict(result.statuses)}"
    )
    total.add(result)
    return done


def _answered(fake: FakeLLMServer) -> int:
    """Requests the fake provider answered with a reply, and so billed."""
    counts = fake.stats()["total"]
    return int(counts["ok"]) + int(counts["malformed"]) + int(counts["timeouts"])


# --- 9. provider-limits ------------------------------------------------------------------

# "Only a handful" of 429s is the bar; ours must stay under it (none, normally).
HANDFUL = 5
THROUGHPUT_SHORTFALL = 0.10  # the most the measured rate may fall below what the limits allow


def provider_limits(args: argparse.Namespace) -> Result:
    """``--games`` games at once (ThreadWorkers) against a provider that allows
    ``--limit-concurrency`` requests in flight and ``--limit-rpm`` per minute and answers
    429 past them; the same limits set for the benchmark (``snakebench limits``). Passes
    with no void game, at most a handful of 429s, the provider's peak concurrency within
    its cap, and (given two full minutes or more) the request rate within 10% of what the
    limits and the provider's latency allow."""
    cap, rpm = args.limit_concurrency, args.limit_rpm
    options = FakeOptions(latency_ms=args.latency_ms, max_concurrency=cap, max_rpm=rpm,
                          seed=args.seed)  # fmt: skip
    with stack(args, args.backend) as env, fake_models(options, **DRILL_PRICES) as fake:
        if not args.baseline:  # the baseline: the benchmark not told the provider's caps
            set_limit("provider", "openai", concurrency=cap, rpm=rpm)
        env.worker_command = f"{WORKER_COMMAND} -w {THREAD_WORKER}"
        per_worker = -(-args.games // args.thread_workers)  # every game playing at once
        env.extra_env["SNAKEBENCH_WORKER_THREADS"] = str(per_worker)
        env.start_workers(args.thread_workers)
        batch_id = submit(env, args)
        timeline = _sample_answers(fake, batch_id, args.deadline)
        settle(batch_id)
        time.sleep(2)  # the last worker logs its job OK after the horse commits
        result = audit(env, batch_id)
        stats = fake.stats()
        waits = [p.total_wait_ms / max(p.moves, 1) for p in
                 Participant.select().join(Game).where(Game.batch == batch_id)]  # fmt: skip
    refused, peak = int(stats["total"]["over_limit"]), int(stats["limits"]["peak_concurrency"])
    # The gate counts a minute as 60 s plus its margin (see request_limits.WINDOW_MARGIN).
    allowed = min(rpm * WINDOW_SECONDS / (WINDOW_SECONDS + WINDOW_MARGIN),
                  60 * cap / (args.latency_ms / 1000))  # fmt: skip
    rate = _rate_per_minute(timeline)
    if refused > HANDFUL:
        result.violations += 1
        result.notes.append(f"the provider answered {refused} requests with 429")
    if peak > cap:
        result.violations += 1
        result.notes.append(f"the provider saw {peak} requests in flight; its cap is {cap}")
    if rate is None:
        measured = "too short to measure (under two full minutes)"
    else:
        measured = f"{rate:.0f}/min = {rate / allowed:.1%} of the {allowed:.0f}/min allowed"
        if rate < allowed * (1 - THROUGHPUT_SHORTFALL):
            result.violations += 1
            result.notes.append(f"throughput {measured}")
    extra = [
        f"  provider: {stats['total']['ok']:,} requests answered, {refused} answered 429, "
        f"peak {peak} in flight (cap {cap}), peak {stats['limits']['peak_per_minute']} in "
        f"a minute (cap {rpm}); throughput {measured}; mean wait for a slot "
        f"{statistics.fmean(waits or [0.0]):,.0f} ms per move; statuses {dict(result.statuses)}"
    ]
    load = f"{args.games} LLM games at once, {args.thread_workers} ThreadWorkers"
    faults = f"provider capped at {cap} in flight, {rpm}/min, {args.latency_ms:g} ms per reply"
    if args.baseline:
        faults += "; NO limits set (baseline)"
    return load, faults, result, extra


def _sample_answers(fake: FakeLLMServer, batch_id: str, deadline: float) -> list[tuple[float, int]]:
    """(seconds, requests answered so far) once a second until the batch is over."""
    timeline: list[tuple[float, int]] = []
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        timeline.append((time.monotonic() - started, _answered(fake)))
        if batch_progress(batch_id).finished:
            break
        time.sleep(1.0)
    return timeline


def _rate_per_minute(timeline: list[tuple[float, int]]) -> float | None:
    """Requests answered per minute in steady state: the mean over every full 60 s window
    from the first answer to a minute before the last (the tail, as the last games end,
    has less demand than the limits allow). None when that leaves no window: a run of
    under two minutes."""
    answered = [(t, n) for t, n in timeline if n > 0]
    if not answered or answered[-1][0] - answered[0][0] < 120:
        return None
    last_start = answered[-1][0] - 120
    rates = []
    for t, n in answered:
        if t > last_start:
            break
        u, m = next((u, m) for u, m in answered if u >= t + 60)
        rates.append((m - n) / ((u - t) / 60))  # samples are a second apart, or a bit more
    return statistics.fmean(rates)


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
    "budget": (
        budget,
        "spending caps under concurrency: plain workers, ThreadWorkers, SIGKILLs, a cancel",
        {"games": 200, "workers": 8, "max_rounds": 30, "deadline": 600},
    ),
    "provider-limits": (
        provider_limits,
        "64 games at once vs a provider capped at 8 in flight, 300/min: no 429s, no voids",
        {"games": 64, "max_rounds": 10, "deadline": 900},
    ),
    "sentinel-failover": (
        sentinel_failover,
        "netns: Redis primary SIGKILLed mid-batch; Sentinel promotes its replica",
        {"games": 600, "workers": 6, "max_rounds": 100, "deadline": 400},
    ),
    "load": (
        load,
        "2,000 short bot games on 8 workers, PostgreSQL",
        {"games": 2000, "workers": 8, "max_rounds": 30, "deadline": 900},
    ),
}
