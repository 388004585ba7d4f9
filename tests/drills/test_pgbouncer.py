"""Games through PgBouncer in transaction pooling mode (scripts/drills/pgbouncer.py):
what docs/SCALING.md says 10,000 concurrent games need, since each running game holds a
PostgreSQL connection of its own.

A real pgbouncer on the services host of a netns cluster pools the host's PostgreSQL
with 2 server connections; one ThreadWorker on a worker host plays 6 LLM games at once
against a fake provider (80 ms a reply) on that host's loopback, and this process
(schema upgrade, batch creation, the audit) goes through PgBouncer too. Every game must
complete and audit clean (replay re-simulates, two rating changes, nothing duplicated),
PostgreSQL must never see more than the pool's 2 connections, and PgBouncer must have
served more clients than that at once: the games shared the pool. Skipped, with the
reason, where namespaces or pgbouncer are missing (CI installs pgbouncer: .ci/run).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from capacity_probes import PgProbe
from drills.common import Env, audit, make_net_env, new_tmp, teardown
from drills.hostllm import HostFakeLLM
from drills.netns import cluster, unavailable_reason
from drills.pgbouncer import HostPgBouncer, pgbouncer_missing

from snakebench.queueing import WORKER_COMMAND
from snakebench.services.batches import (
    BatchSpec,
    batch_progress,
    create_batch_games,
    enqueue_batch,
)
from snakebench.store import database, upsert_model

REASON = unavailable_reason() or pgbouncer_missing()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=f"cannot run PgBouncer here: {REASON}"),
]

GAMES = 6
POOL = 2
TIMEOUT = 240  # seconds for the 6 games on a loaded 2-core machine


@pytest.fixture
def pooled() -> Iterator[tuple[Env, HostPgBouncer]]:
    tmp_path = new_tmp()  # not pytest's: the postgres user must reach it
    with cluster(worker_hosts=1) as hosts:
        env = make_net_env(tmp_path, hosts)
        assert env.host_postgres is not None
        bouncer = HostPgBouncer(env.host_postgres, tmp_path, pool_size=POOL)
        try:
            bouncer.start()
            fake = HostFakeLLM(hosts.workers, tmp_path, latency_ms=80, jitter_ms=40)
            fake.start()
            env.worker_command = (
                WORKER_COMMAND + " -w snakebench.queueing.thread_worker.ThreadWorker"
            )
            env.extra_env = {"DATABASE_URL": bouncer.url, "SNAKEBENCH_WORKER_THREADS": str(GAMES)}
            env.open()  # this process too: the schema upgrade runs through PgBouncer
            for name in ("fake-a", "fake-b"):
                upsert_model(name, provider="openai", model_slug=name, base_url=fake.base_url)
            yield env, bouncer
        finally:
            database.close()
            bouncer.stop()
            teardown(env)
            shutil.rmtree(tmp_path, ignore_errors=True)


def test_games_through_pgbouncer_share_its_pool_and_audit_clean(
    pooled: tuple[Env, HostPgBouncer],
) -> None:
    env, bouncer = pooled
    env.start_workers(1, wait=120)
    spec = BatchSpec("fake-a", "fake-b", count=GAMES, max_rounds=25, seed=7)
    batch = create_batch_games(spec, env.settings)
    enqueue_batch(batch.id, env.redis, settings=env.settings)
    probe = PgProbe(env.host_postgres.host.address if env.host_postgres else "")
    servers, clients = [], []
    deadline = time.monotonic() + TIMEOUT
    try:
        while not batch_progress(batch.id).finished and time.monotonic() < deadline:
            database.close()  # this process's client is not one of the games'
            servers.append(probe.connections())
            pools = bouncer.pools()
            clients.append(pools.get("cl_active", 0) + pools.get("cl_waiting", 0))
            time.sleep(0.3)
    finally:
        probe.close()
    result = audit(env, batch.id)
    assert (result.lost, result.duplicated, result.wrongly_scored) == (0, 0, 0), result.notes
    assert result.total == GAMES
    assert max(servers) <= POOL, f"PostgreSQL saw {max(servers)} connections, pool {POOL}"
    assert max(clients) > POOL, f"PgBouncer served at most {max(clients)} clients at once"
