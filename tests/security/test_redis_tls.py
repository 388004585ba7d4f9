"""``rediss://`` against a Redis that speaks TLS only, with a certificate from a CA
made by the test: the project's own ``connect_redis`` checks the certificate by
default (a self-signed one is refused unless the URL names its CA, or opts out with
``ssl_cert_reqs=none`` as Heroku's URL needs), refuses a wrong password and plain
``redis://``, masks the password in every error; and a game enqueued over TLS is
played to the end by the documented ``rq worker`` command given that URL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from rq.job import Job, JobStatus

from snakebench.config import ConfigError, Settings
from snakebench.queueing import SERIALIZER, QueueError, connect_redis, enqueue_games
from snakebench.store import create_game, database, get_game, open_store

pytestmark = pytest.mark.slow


def refused(url: str, password: str) -> str:
    with pytest.raises(QueueError) as caught:
        connect_redis(url, timeout=3.0)
    message = str(caught.value)
    assert password not in message and ":***@" in message, message
    return message


def test_connect_redis_over_tls_checks_the_certificate(tls_redis: Any) -> None:
    client = connect_redis(tls_redis.verified_url)
    assert isinstance(client.connection_pool.get_connection(), redis.SSLConnection)
    assert client.set("over-tls", "yes") and client.get("over-tls") == b"yes"
    client.close()
    # Heroku's way: TLS, but the self-signed certificate is not checked.
    connect_redis(tls_redis.url("ssl_cert_reqs=none")).close()

    password = tls_redis.password
    assert "certificate verify failed" in refused(tls_redis.url(), password)
    assert "password" in refused(tls_redis.url("ssl_cert_reqs=none", password="wrong"), "wrong")
    # Plain Redis to the TLS port: refused; TLS options on a plain URL: a config error.
    refused(tls_redis.url().replace("rediss://", "redis://"), password)
    with pytest.raises(ConfigError, match=r"not a Redis URL: .*ssl_ca_certs") as caught:
        connect_redis(tls_redis.verified_url.replace("rediss://", "redis://"))
    assert password not in str(caught.value) and "\n" not in str(caught.value)


def test_a_game_enqueued_over_tls_is_played_by_a_worker_on_rediss(
    tls_redis: Any,
    tmp_path: Path,
    env_for: Callable[..., dict[str, str]],
    use_env: Callable[[dict[str, str]], None],
    workers: Any,
) -> None:
    url = tls_redis.verified_url
    env = env_for(tmp_path, url)
    use_env(env)
    open_store(Settings.from_env(env))
    try:
        connection = connect_redis(url)
        game = create_game(seed=11, players=("greedy", "survivor"), max_rounds=30)
        enqueue_games([game.id], max_rounds=30, connection=connection)
        [worker] = workers.start(env, url)
        workers.wait_exit(120)
        assert get_game(game.id).status == "completed", worker.output()[-3000:]
        job = Job.fetch(game.id, connection=connection, serializer=SERIALIZER)
        assert job.get_status() == JobStatus.FINISHED
        assert (job.return_value() or {}).get("game_id") == game.id
        assert tls_redis.password not in worker.output()
        connection.close()
    finally:
        if not database.is_closed():
            database.close()
