"""The claims that give each test session a Redis database of its own (two checkouts'
suites, xdist workers): :func:`snakebench.testing.support.claim_redis_db` against a
private redis-server with four databases, db 0 for the claims and dbs 1-3 to hand out.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from snakebench.localstack.errors import LocalStackError
from snakebench.localstack.processes import free_port
from snakebench.localstack.redis_server import answers_ping, find_redis_server
from snakebench.testing import support
from snakebench.testing.support import RedisDatabaseTaken, claim_redis_db, release_redis_db


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A private redis-server with four databases; its URL without a database."""
    try:
        binary = find_redis_server()
    except LocalStackError as exc:
        support.unavailable(str(exc))
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--databases", "4",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}"
    try:
        support.wait_until(lambda: answers_ping(url) or process.poll() is not None, 10, url)
        assert process.poll() is None, "redis-server exited"
        yield url
    finally:
        support.terminate_processes([process])


def keys_in(server: str, db: int) -> int:
    with redis.Redis.from_url(support.database_url(server, db)) as client:
        return int(client.dbsize())


def put(server: str, db: int, key: str = "someone's") -> None:
    with redis.Redis.from_url(support.database_url(server, db)) as client:
        client.set(key, "data")


def test_two_claims_get_different_databases_and_none_is_handed_out_twice(server: str) -> None:
    claims = [claim_redis_db(server) for _ in range(3)]
    assert [claim.db for claim in claims] == [1, 2, 3]
    assert [claim.url for claim in claims] == [f"{server}/{db}" for db in (1, 2, 3)]
    with pytest.raises(RedisDatabaseTaken):
        claim_redis_db(server)
    with pytest.raises(RedisDatabaseTaken):  # by number: still another's
        claim_redis_db(server, db=2)


def test_a_database_holding_data_is_skipped_and_left_alone(server: str) -> None:
    put(server, 1)
    assert claim_redis_db(server).db == 2
    assert keys_in(server, 1) == 1


def test_a_released_database_is_flushed_and_free_again(server: str) -> None:
    first = claim_redis_db(server)
    put(server, first.db, "a test's")
    release_redis_db(first)
    assert keys_in(server, first.db) == 0
    assert claim_redis_db(server).db == first.db


def test_a_database_whose_claimant_died_is_taken_back_and_flushed(server: str) -> None:
    dead = claim_redis_db(server, ttl=1)  # never renewed, never released
    put(server, dead.db, "a dead session's")
    assert claim_redis_db(server).db != dead.db  # still claimed
    time.sleep(1.2)
    again = claim_redis_db(server)
    assert again.db == dead.db and keys_in(server, dead.db) == 0
    assert not dead.held() and again.held()


def test_holding_renews_the_claim_and_releases_it_at_the_end(server: str) -> None:
    claim = claim_redis_db(server, ttl=1)
    with support.holding(claim, ttl=1):
        time.sleep(1.5)  # past the first TTL: renewed meanwhile
        assert claim.held()
        assert claim_redis_db(server).db != claim.db
    assert claim_redis_db(server).db == claim.db


def test_database_0_holds_the_claims_and_is_never_handed_out(server: str) -> None:
    with pytest.raises(ValueError, match="database 0"):
        claim_redis_db(server, db=0)
