"""Redis high availability the RQ way (issue 19): a primary, a replica and three
Sentinels on the netns harness (:mod:`drills.netns`), the primary SIGKILLed mid-batch.

- ``sentinel-failover``: the primary runs on host ``r1``, its replica on ``r2``, and
  three Sentinels (quorum 2, ``down-after-milliseconds`` 2000) on the services host,
  the dispatcher host and the first worker host. PostgreSQL stays on the services
  host. Every process, the workers' ``rq worker -c jobs.run_game`` included, reaches
  Redis through ``REDIS_SENTINELS`` alone (docs/HA.md): nothing knows the primary's
  address. Mid-batch the primary's packets to the replica are dropped for ``--lag``
  seconds (nftables on r1: replication stalls while the primary keeps taking
  writes, the asynchronous-replication window made wide enough to see), and a second,
  small batch is submitted within it; then the primary is SIGKILLed and the replica's
  link comes back (``--cut``: the primary's link goes down instead, it lives on
  unreachable, and nothing resets the connections to it). The Sentinels promote it;
  the workers' next connections reach it; the old primary is started again, empty
  (``--cut``: its link comes back), and the Sentinels make it a replica of the new one.

  What the promoted replica never received is lost: the late batch's jobs, and what
  jobs did in the window (a game finished there is still queued or started on the new
  primary, and runs again: its run finds the game over and plays nothing). The drill
  counts it against the database (the source of truth), then ``dispatch reconcile``
  runs until both batches are done, and the audit must find nothing lost, duplicated
  or wrongly scored.

Games are bot games (greedy against random): no provider is needed on any host.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from drills.common import (
    Audit,
    Env,
    audit,
    new_tmp,
    opened,
    reconcile_until_done,
    wait_for,
)
from drills.netns import Cluster, Host, HostPostgres, HostRedis, cluster

from snakebench.queueing import job_statuses
from snakebench.services.batches import BatchSpec, batch_progress, submit_batch
from snakebench.store import Game

Result = tuple[str, str, Audit, list[str]]  # as drills.scenarios' drills return
MASTER = "snakebench"
REDIS_PORT = 6379
SENTINEL_PORT = 26379
PRIMARY_INDEX, REPLICA_INDEX = 12, 13  # r1, r2: beside svc (10), disp (11), w1.. (21..)
DOWN_AFTER_MS = 2000  # a primary silent this long is down (production: 5000 to 30000)
FAILOVER_TIMEOUT_MS = 10000
MID_BATCH = 0.3  # the share of the batch done before the fault
FAILOVER_WAIT = 60.0  # seconds the Sentinels get to promote the replica
START_WAIT = 180.0  # seconds the first workers get to register (a loaded 2-core machine)


@dataclass
class SentinelRedis:
    """A primary, its replica and the Sentinels watching them, as one ``Env.redis_server``.

    ``url`` is empty: the drill's environment names the Sentinels instead
    (:meth:`env`), so the workers get no ``--url`` and the dispatcher no ``REDIS_URL``."""

    primary: HostRedis
    replica: HostRedis
    sentinel_hosts: list[Host]
    tmp: Path
    url: str = ""
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        hosts = ",".join(f"{h.address}:{SENTINEL_PORT}" for h in self.sentinel_hosts)
        return {"REDIS_URL": "", "REDIS_SENTINELS": hosts, "REDIS_SENTINEL_MASTER": MASTER}

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        for host in self.sentinel_hosts:
            self.sentinels.append(self._start_sentinel(host))
        wait_for(self._watching, 30, "the Sentinels to see the replica and each other", 0.5)

    def _start_sentinel(self, host: Host) -> subprocess.Popen[bytes]:
        folder = self.tmp / f"sentinel-{host.name}"
        folder.mkdir()
        conf = folder / "sentinel.conf"  # a Sentinel rewrites its file: one each
        conf.write_text(
            f"port {SENTINEL_PORT}\nbind {host.address}\nprotected-mode no\n"
            f"dir {folder}\n"
            f"sentinel monitor {MASTER} {self.primary.host.address} {REDIS_PORT} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        argv = [self.primary.binary, str(conf), "--sentinel"]
        return host.popen(argv, log=folder / "sentinel.log")

    def _ask(self, host: Host, *command: str) -> object:
        client = redis.Redis(host.address, SENTINEL_PORT, socket_timeout=2, decode_responses=True)
        try:
            return client.execute_command(*command)
        finally:
            client.close()

    def _watching(self) -> bool:
        for host in self.sentinel_hosts:
            replicas = self._ask(host, "SENTINEL", "REPLICAS", MASTER)
            others = self._ask(host, "SENTINEL", "SENTINELS", MASTER)
            if not (isinstance(replicas, list) and replicas and isinstance(others, list)):
                return False
            if len(others) < len(self.sentinel_hosts) - 1:
                return False
        return True

    def primary_address(self) -> str:
        """The primary's address as a majority of the Sentinels name it."""
        named: Counter[str] = Counter()
        for host in self.sentinel_hosts:
            try:
                found = self._ask(host, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            except redis.RedisError:
                continue
            if isinstance(found, list) and found:
                named[str(found[0])] += 1
        address, votes = named.most_common(1)[0] if named else ("", 0)
        return address if votes * 2 > len(self.sentinel_hosts) else ""

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        self.sentinels.clear()
        self.primary.stop()
        self.replica.stop()


@contextmanager
def sentinel_stack(args: argparse.Namespace) -> Iterator[tuple[Env, SentinelRedis, Cluster]]:
    """The cluster plus hosts r1 and r2; PostgreSQL on the services host; the Redis pair
    and its Sentinels; this process pointed at them through REDIS_SENTINELS."""
    tmp = new_tmp()
    with cluster(worker_hosts=3) as hosts:
        r1 = hosts.network.add_host("r1", PRIMARY_INDEX)
        r2 = hosts.network.add_host("r2", REPLICA_INDEX)
        primary = HostRedis(r1, tmp)
        replica = HostRedis(r2, tmp, extra=["--replicaof", r1.address, str(REDIS_PORT)])
        group = SentinelRedis(primary, replica, [hosts.services, hosts.dispatcher,
                                                 hosts.workers[0]], tmp)  # fmt: skip
        postgres = HostPostgres(hosts.services, tmp)
        env = Env(tmp, group, postgres.url, worker_hosts=hosts.workers,  # type: ignore[arg-type]
                  host_postgres=postgres, extra_env=group.env())  # fmt: skip

        def start() -> None:
            group.start()
            postgres.start()

        with opened(env, args.keep, start=start):
            try:
                yield env, group, hosts
            finally:
                r1.unblock()  # before the teardown: Redis on r1 must be reachable


@dataclass
class Loss:
    """What the promoted replica lacked, against the database, right after failover."""

    no_job: int = 0  # unfinished games whose job the new primary does not hold
    stale: int = 0  # finished games the new primary still holds as queued or started
    counts: Counter[str] = field(default_factory=Counter)


def measure_loss(env: Env, batch_ids: list[str]) -> Loss:
    """Each game's database status against its job's status on the new primary."""
    rows = Game.select(Game.id, Game.status).where(Game.batch.in_(batch_ids))
    games = {g.id: g.status for g in rows}
    conn = env.redis
    jobs = job_statuses(list(games), conn)
    conn.close()
    loss = Loss()
    for gid, status in games.items():
        job = jobs.get(gid)
        loss.counts[f"{status}/{job}"] += 1
        if status in ("queued", "running") and job is None:
            loss.no_job += 1
        if status not in ("queued", "running") and job in ("queued", "started"):
            loss.stale += 1
    return loss


def sentinel_failover(args: argparse.Namespace) -> Result:
    """SIGKILL the Sentinel-managed primary mid-batch after a replication stall; the
    Sentinels promote the replica, reconcile recovers what it never received."""
    with sentinel_stack(args) as (env, group, _hosts):
        env.start_workers(args.workers, wait=START_WAIT)
        batch_id = _submit(env, args, args.games)
        wait_for(lambda: _done(batch_id) >= MID_BATCH, args.deadline / 3, "the batch mid-way")
        primary_host, replica_host = group.primary.host, group.replica.host
        primary_host.block(replica_host.address)  # replication stalls; writes go on
        late_id = _submit(env, args, late_games(args))  # its jobs: on the primary only
        time.sleep(args.lag)
        before = batch_progress(batch_id)
        killed_at = time.monotonic()
        if args.cut:
            primary_host.cut()  # alive, unreachable: nothing resets its connections
        else:
            group.primary.stop()  # SIGKILL
        primary_host.unblock()  # before it comes back
        wait_for(lambda: group.primary_address() == replica_host.address, FAILOVER_WAIT,
                 "the Sentinels to promote the replica", 0.2)  # fmt: skip
        failover = time.monotonic() - killed_at
        loss = measure_loss(env, [batch_id, late_id])
        done = batch_progress(batch_id).done
        wait_for(lambda: batch_progress(batch_id).done > done, FAILOVER_WAIT,
                 "a game to finish after the failover", 0.2)  # fmt: skip
        resumed = time.monotonic() - killed_at
        if args.cut:
            primary_host.heal()  # the Sentinels demote it: its data is dropped
        else:
            group.primary.start()  # back empty: the Sentinels make it a replica
        survivors = len(env.live_workers())
        runs = sum(reconcile_until_done(env, b, args.deadline / 2, args.workers)
                   for b in (late_id, batch_id))  # fmt: skip
        for each in (batch_id, late_id):
            wait_for(lambda b=each: not batch_progress(b).running, 30, "the last games", 0.5)
        time.sleep(2)  # the last worker logs its job OK after the horse commits
        result = audit(env, batch_id)
        result.add(audit(env, late_id))
        rejoined = _role(group.primary) == "slave"
    fault = "cut off" if args.cut else "SIGKILLed"
    extra = [
        f"  primary {fault} at {before.done}/{before.total} done ({before.running} "
        f"running, {before.queued} queued) after a {args.lag:g} s replication stall "
        f"(a {late_games(args)}-game batch submitted in it); "
        f"Sentinels promoted the replica in {failover:.1f} s, a game finished "
        f"{resumed:.1f} s after the fault; old primary rejoined as replica: "
        f"{'yes' if rejoined else 'no'}",
        f"  lost on failover: {loss.no_job} unfinished games without a job, {loss.stale} "
        f"finished games the new primary still held as queued/started; "
        f"{survivors}/{args.workers} workers survived, {env.restarted} replaced; "
        f"reconcile ran {runs} times; statuses {dict(result.statuses)}",
        "  DB status/job status on the new primary: "
        + ", ".join(f"{k} {n}" for k, n in sorted(loss.counts.items())),
    ]
    return (
        f"{args.games}+{late_games(args)} bot games, {args.workers} workers, 3 Sentinels",
        f"primary {fault} ({args.lag:g} s lag)",
        result,
        extra,
    )


def late_games(args: argparse.Namespace) -> int:
    """The batch submitted while replication stalls: a tenth of the main one, 5 or more."""
    return max(5, args.games // 10)


def _submit(env: Env, args: argparse.Namespace, games: int) -> str:
    spec = BatchSpec("greedy", "random", count=games, max_rounds=args.max_rounds,
                     seed=args.seed)  # fmt: skip
    conn = env.redis
    batch_id = str(submit_batch(spec, conn, settings=env.settings).id)
    conn.close()
    return batch_id


def _done(batch_id: str) -> float:
    progress = batch_progress(batch_id)
    return progress.done / progress.total


def _role(server: HostRedis) -> str:
    try:
        client = redis.Redis(server.host.address, server.port, socket_timeout=2)
        role = client.role()
        client.close()
    except redis.RedisError:
        return "unreachable"
    first = role[0] if isinstance(role, list) and role else b""
    return first.decode() if isinstance(first, bytes) else str(first)
