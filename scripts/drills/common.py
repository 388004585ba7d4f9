"""What every drill shares: a private Redis, a throw-away database, worker processes
started with the documented command, the fake LLM server, and the audit that counts
lost, duplicated and wrongly scored games.

Everything listens on loopback only; every process is started here and stopped here
by pid (a work horse calls ``setpgrp``, so it is found as the child of its worker
that leads its own process group).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw
import psycopg2
import redis
from drills.netns import Cluster, Host, HostPostgres, HostRedis
from psycopg2 import sql

from snakebench.config import Settings
from snakebench.engine.replay import read_replay
from snakebench.engine.verify import verify_replay
from snakebench.localstack.processes import free_port, process_identity
from snakebench.localstack.redis_server import answers_ping, find_redis_server
from snakebench.queueing import WORKER_COMMAND
from snakebench.queueing.connection import redis_client
from snakebench.services.batches import batch_progress
from snakebench.store import Game, Participant, database, open_store
from snakebench.store.models import RatingChange
from snakebench.testing import support
from snakebench.testing.support import QUICK_FAILURES, children_of, worker_command
from snakebench.testing.support import wait_for as shared_wait_for

PY = sys.executable
FAKE_KEY = "sk-drill-not-a-secret"
PG_ADMIN_DB = "postgres"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
JOB_OK = re.compile(r"Job OK \(([0-9a-f-]{36})\)")
# run_game's line for a job delivered again after its game ended (it plays nothing).
NOT_PLAYED = re.compile(r"game ([0-9a-f-]{36}) not played \(already over\)")


class DrillError(RuntimeError):
    """The drill could not be run (a service missing, a deadline passed)."""


# --- processes ------------------------------------------------------------------------


def children(pid: int) -> dict[int, int]:
    return children_of(pid)


def kill_pid(pid: int, signum: int = signal.SIGKILL) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    host: Host | None = None  # the network-namespace host it runs on (netns drills)

    def alive(self) -> bool:
        return self.process.poll() is None

    def horses(self) -> list[int]:
        return [pid for pid, group in children(self.process.pid).items() if pid == group]

    def kill(self) -> None:
        """A machine dying: worker, work horse and scheduler, SIGKILL, no clean-up."""
        for pid in children(self.process.pid):
            kill_pid(pid)
        self.kill_main()

    def kill_main(self) -> dict[int, str | None]:
        """The worker's main process alone, SIGKILLed (the OOM killer's pick); returns
        its children as they were (pid: start identity), to see whether they outlive it."""
        left = {pid: process_identity(pid) for pid in children(self.process.pid)}
        if self.alive():
            self.process.kill()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        return left


class RedisServer:
    """A private redis-server on a free loopback port; nothing on disk."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.tmp / f"redis-{self.starts}.log"
        command = [
            str(find_redis_server()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmp),
            "--daemonize", "no",
            "--logfile", str(log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not answers_ping(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise DrillError(f"private redis-server did not start: see {log}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGKILL: whatever Redis held is gone (it keeps nothing on disk anyway)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


# --- the environment of one drill -----------------------------------------------------


@dataclass
class Env:
    """One drill's Redis, database, replay folder, workers and environment."""

    tmp: Path
    redis_server: RedisServer | HostRedis
    db_url: str
    pg_database: str | None = None
    # netns drills: the hosts workers are placed on, round-robin, and the private
    # PostgreSQL of the services host (stopped at teardown instead of a dropped database).
    worker_hosts: list[Host] = field(default_factory=list)
    host_postgres: HostPostgres | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # netns drills: what a worker on that host (by name) sees instead, e.g. REDIS_URL and
    # DATABASE_URL pointing at a proxy on its own path (net_slow).
    host_env: dict[str, dict[str, str]] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    all_workers: list[Worker] = field(default_factory=list)
    restarted: int = 0  # workers the supervisor loop replaced after they exited
    # The command workers start with (here and when the supervisor loop replaces one).
    worker_command: str = WORKER_COMMAND

    @property
    def replay_dir(self) -> Path:
        return self.tmp / "replays"

    @property
    def redis(self) -> redis.Redis:
        """A client made as every SnakeBench process makes one (REDIS_URL, or the
        primary the Sentinels of REDIS_SENTINELS name: the sentinel-failover drill)."""
        return redis_client(self.settings, connect_timeout=2, socket_timeout=10)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env())

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and not k.startswith("SNAKEBENCH_")
        }
        env.update(
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_server.url,
            SNAKEBENCH_REPLAY_DIR=str(self.replay_dir),
            OPENAI_API_KEY=FAKE_KEY,
            **QUICK_FAILURES,
        )
        env.update(self.extra_env)
        return env

    def open(self) -> None:
        """Point this process (dispatch, audit) at the drill's stack."""
        for key in [k for k in os.environ if k.startswith("SNAKEBENCH_")]:
            del os.environ[key]
        os.environ.update(self.env())
        open_store(self.settings)

    def start_workers(
        self, count: int, wait: float = 180.0, host: Host | None = None
    ) -> list[Worker]:
        """``count`` workers, each on ``host``, or (netns drills) on the worker host with
        the fewest live workers, or else on this machine."""
        started = []
        for _ in range(count):
            name = f"drill-{uuid.uuid4().hex[:8]}"
            log = self.tmp / f"worker-{name}.log"
            on = host or self._least_busy_host()
            env = {**self.env(), **(self.host_env.get(on.name, {}) if on else {})}
            argv = worker_command(env["REDIS_URL"], name=name, command=self.worker_command)
            with log.open("wb") as out:
                process = subprocess.Popen(
                    on.command(argv) if on else argv,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=self.tmp,
                )
            started.append(Worker(name, process, log, on))
            self.workers.extend(started[-1:])
        self.all_workers.extend(started)
        conn = self.redis
        deadline = time.monotonic() + wait
        for worker in started:
            while not (conn.exists(f"rq:worker:{worker.name}") or not worker.alive()):
                if time.monotonic() > deadline:
                    raise DrillError(f"worker {worker.name} did not register in {wait:.0f} s")
                time.sleep(0.1)
        conn.close()
        return started

    def _least_busy_host(self) -> Host | None:
        if not self.worker_hosts:
            return None
        load = Counter(w.host.name for w in self.live_workers() if w.host)
        return min(self.worker_hosts, key=lambda h: load[h.name])

    def workers_on(self, host: Host) -> list[Worker]:
        return [w for w in self.live_workers() if w.host is host]

    def live_workers(self) -> list[Worker]:
        self.workers = [w for w in self.workers if w.alive()]
        return self.workers

    def stop_workers(self, grace: float = 10.0) -> None:
        for worker in self.workers:
            for pid in worker.horses():
                kill_pid(pid)
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for worker in self.workers:
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers.clear()

    def dispatch(self, *args: str, timeout: float = 120) -> str:
        """``python -m snakebench.dispatch ARGS`` against this drill's stack."""
        done = subprocess.run(
            [PY, "-m", "snakebench.dispatch", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmp,
        )
        if done.returncode != 0:
            raise DrillError(f"dispatch {' '.join(args)} failed: {done.stderr[-500:]}")
        return done.stdout.strip()

    def worker_logs(self) -> str:
        return "\n".join(w.log.read_text(errors="replace") for w in self.all_workers)


def make_env(tmp: Path, backend: str) -> Env:
    server = RedisServer(tmp)
    server.start()
    if backend == "sqlite":
        return Env(tmp, server, f"sqlite:///{tmp / 'drill.db'}")
    name = f"sb_drill_{uuid.uuid4().hex[:10]}"
    admin = pg_admin()
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    url = support.pg_url(name)
    return Env(tmp, server, url, pg_database=name)


def make_net_env(tmp: Path, hosts: Cluster, postgres: HostPostgres | None = None) -> Env:
    """An Env on separate hosts: Redis and a private PostgreSQL on the services host
    (``postgres``, not yet started, to give it settings), workers spread over the worker
    hosts; this process (the audit) reaches both over the bridge. Always PostgreSQL:
    SQLite cannot be shared across machines."""
    server = HostRedis(hosts.services, tmp)
    server.start()
    postgres = postgres or HostPostgres(hosts.services, tmp)
    try:
        postgres.start()
    except BaseException:
        server.stop()
        raise
    return Env(tmp, server, postgres.url, worker_hosts=hosts.workers, host_postgres=postgres)


def pg_admin() -> Any:
    """The tests' PostgreSQL admin connection (to the ``postgres`` database, which every
    server has), a DrillError when the server does not answer."""
    try:
        return support.pg_admin(PG_ADMIN_DB)
    except psycopg2.OperationalError as exc:
        where = f"{support.PG_HOST}:{support.PG_PORT}"
        raise DrillError(f"PostgreSQL not reachable on {where}: {exc}") from None


def teardown(env: Env) -> None:
    env.stop_workers(grace=5)
    for worker in env.all_workers:
        if worker.alive():
            worker.kill()
    env.redis_server.stop()
    if not database.is_closed():
        database.close()
    if env.host_postgres:
        env.host_postgres.stop()
    if env.pg_database:
        for _ in range(10):  # the server may still be coming back from a restart drill
            try:
                admin = pg_admin()
                break
            except DrillError:
                time.sleep(1)
        else:
            print(f"  (could not drop database {env.pg_database})")
            return
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(env.pg_database)
                )
            )
        admin.close()


def new_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="snakebench-drill-"))


@contextmanager
def opened(env: Env, keep: bool, start: Callable[[], None] | None = None) -> Iterator[Env]:
    """Point this process at ``env`` (after ``start``: services ``env`` needs running
    before it opens); at the end tear it down and remove its temp folder (unless
    ``keep``: then say where it is)."""
    try:
        if start is not None:
            start()
        env.open()
        yield env
    finally:
        teardown(env)
        if keep:
            print(f"  (kept {env.tmp})")
        else:
            subprocess.run(["rm", "-rf", str(env.tmp)], check=False)


# --- waiting ----------------------------------------------------------------------------


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    return shared_wait_for(predicate, timeout, what, interval=every, error=DrillError)


def reconcile_until_done(
    env: Env, batch_id: str, timeout: float, workers: int, every: float = 5.0
) -> int:
    """Run ``dispatch reconcile`` every ``every`` seconds until the batch is finished
    (a killed worker's game is re-enqueued once its heartbeat lapses, 60-90 s);
    returns how many times it ran. Stops at ``timeout``: what is left counts as lost.
    Like a process supervisor (Railway, systemd), it replaces workers that exited,
    keeping ``workers`` running."""
    deadline = time.monotonic() + timeout
    runs = 0
    while time.monotonic() < deadline:
        if batch_progress(batch_id).finished:
            return runs
        missing = workers - len(env.live_workers())
        if missing > 0:
            env.restarted += missing
            env.start_workers(missing)
        env.dispatch("reconcile", "--batch", batch_id)
        runs += 1
        end = min(deadline, time.monotonic() + every)
        while time.monotonic() < end and not batch_progress(batch_id).finished:
            time.sleep(0.5)
    return runs


# --- the audit --------------------------------------------------------------------------


@dataclass
class Audit:
    total: int
    statuses: Counter[str]
    lost: int
    duplicated: int
    wrongly_scored: int
    notes: list[str]
    # Broken guarantees other than the three above (the budget drill: money past a cap,
    # a billed call missing from the ledger); each has a note.
    violations: int = 0

    def add(self, other: Audit) -> None:
        """Fold another batch's audit into this one (a drill of several batches)."""
        self.total += other.total
        self.statuses.update(other.statuses)
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.wrongly_scored += other.wrongly_scored
        self.violations += other.violations
        self.notes.extend(other.notes)


def _repeated(table: Any, game: Any, key: Any, ids: set[str]) -> list[tuple[str, Any, int]]:
    """(game, key, count) of every (game, key) pair ``table`` holds more than once."""
    count = pw.fn.COUNT(table.id)
    query = table.select(game, key, count).where(game.in_(list(ids))).group_by(game, key)
    return list(query.having(count > 1).tuples())


def audit(env: Env, batch_id: str, *, final: tuple[str, ...] = ("completed",)) -> Audit:
    """Count lost, duplicated and wrongly scored games of the batch (see the module's
    docstring in scripts/drill.py)."""
    notes: list[str] = []
    games = list(Game.select().where(Game.batch == batch_id))
    ids = {g.id for g in games}
    statuses = Counter(g.status for g in games)
    lost = sum(1 for g in games if g.status not in final)
    if lost:
        notes.append(f"not {'/'.join(final)}: {dict(statuses)}")

    # Duplicates: participant slots, rating changes, replay files, completed job runs.
    dup_games: set[str] = set()
    for gid, slot, n in _repeated(Participant, Participant.game, Participant.slot, ids):
        dup_games.add(gid)
        notes.append(f"{gid}: {n} participant rows in slot {slot}")
    for gid, model, n in _repeated(RatingChange, RatingChange.game, RatingChange.model, ids):
        dup_games.add(gid)
        notes.append(f"{gid}: {n} rating_changes rows for model {model}")
    # A replay is ``snake_game_<id>.json``; a run killed between staging its replay and
    # committing leaves ``.snake_game_<id>.json.<attempt>`` (simulation._record): a
    # stray file of a run that recorded nothing, noted, not counted as a second replay.
    files: Counter[str] = Counter()
    staged = 0
    if env.replay_dir.exists():
        for path in env.replay_dir.iterdir():
            match = re.fullmatch(r"snake_game_([0-9a-f-]{36})\.json", path.name)
            if match:
                files[match.group(1)] += 1
            elif re.match(r"\.snake_game_[0-9a-f-]{36}\.json\.", path.name):
                staged += 1
    if staged:
        notes.append(f"{staged} staged replay files left by killed runs (nothing recorded)")
    for gid, n in files.items():
        if n > 1:
            dup_games.add(gid)
            notes.append(f"{gid}: {n} replay files")
    logs = ANSI.sub("", env.worker_logs())
    oks = Counter(JOB_OK.findall(logs))
    # A job RQ holds again for a game already over (a Sentinel failover's promoted
    # replica never heard it finished) runs to "Job OK" without playing: not a replay.
    oks.subtract(NOT_PLAYED.findall(logs))
    for gid, n in oks.items():
        if n > 1 and gid in ids:
            dup_games.add(gid)
            notes.append(f"{gid}: job ran to completion {n} times (worker logs)")

    # Wrongly scored: the replay must re-simulate and agree with what is stored.
    wrong: set[str] = set()
    lineup: dict[str, dict[int, Participant]] = {}
    for p in Participant.select().where(Participant.game.in_(list(ids))):
        lineup.setdefault(p.game_id, {})[p.slot] = p
    for game in games:
        rated = RatingChange.select().where(RatingChange.game == game.id).count()
        if game.status != "completed":
            if rated:
                wrong.add(game.id)
                notes.append(f"{game.id}: {game.status} but rated")
            continue
        problem = _replay_problem(env, game, lineup.get(game.id, {}))
        if problem is None and rated != 2:
            problem = f"{rated} rating changes for a completed game"
        if problem:
            wrong.add(game.id)
            notes.append(f"{game.id}: {problem}")
    return Audit(len(games), statuses, lost, len(dup_games), len(wrong), notes)


def _replay_problem(env: Env, game: Game, slots: dict[int, Participant]) -> str | None:
    path = env.replay_dir / f"snake_game_{game.id}.json"
    if not path.exists():
        return "no replay"
    try:
        replay = read_replay(path)
    except Exception as exc:  # a replay we cannot read is wrongly recorded
        return f"unreadable replay: {exc}"
    mismatch = verify_replay(replay)
    if mismatch is not None:
        return f"replay does not re-simulate: {mismatch}"
    if replay.game.get("id") != game.id or replay.game.get("status") != "completed":
        return "replay names another game or status"
    if replay.rounds_played != game.rounds:
        return f"rounds {game.rounds} stored, {replay.rounds_played} in replay"
    if set(slots) != {0, 1}:
        return f"participant slots {sorted(slots)}"
    for sid, player in replay.players.items():
        p = slots[int(sid)]
        if (p.score, p.result) != (player.get("final_score"), player.get("result")):
            return f"slot {sid}: stored {p.score}/{p.result}, replay {player}"
    return None


# --- the summary row --------------------------------------------------------------------

HEADER = ["drill", "load", "faults injected", "lost", "duplicated", "wrongly scored", "wall s"]


def summary_row(drill: str, load: str, faults: str, result: Audit, wall: float) -> tuple[str, bool]:
    ok = result.lost == result.duplicated == result.wrongly_scored == result.violations == 0
    cells = [
        drill,
        load,
        faults,
        str(result.lost),
        str(result.duplicated),
        str(result.wrongly_scored),
        f"{wall:.0f}",
        "PASS" if ok else "FAIL",
    ]
    return " | ".join(cells), ok


def read_summary(out: str, name: str) -> dict[str, str]:
    """The summary row ``scripts/drill.py NAME`` printed, by column (the tests' check)."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("drill | "))
    keys = [k.strip() for k in lines[header].split("|")]
    values = [v.strip() for v in lines[header + 1].split("|")]
    row = dict(zip(keys, values, strict=True))
    if row["drill"] != name:
        raise DrillError(f"summary row names {row['drill']}, not {name}")
    return row


def finish_drill(proc: subprocess.Popen[str], timeout: float) -> tuple[int | None, str]:
    """Wait for a drill started as a subprocess; a return code of None: still running
    after ``timeout`` seconds (then terminated), its output so far."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        return None, out
    return proc.returncode, out


@contextmanager
def started_drills(sizes: dict[str, list[str]]) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Every drill of ``sizes`` (name: its arguments) started at once as
    ``scripts/drill.py NAME ARGS``, output captured; those still running at the end are
    terminated (the tests' way of running drills side by side)."""
    script = Path(__file__).resolve().parents[1] / "drill.py"
    procs = {
        name: subprocess.Popen(
            [PY, str(script), name, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, args in sizes.items()
    }
    try:
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
