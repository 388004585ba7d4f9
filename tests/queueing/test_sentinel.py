"""Redis behind Sentinel (docs/HA.md): the settings, the one connection factory, and a
real primary watched by a real Sentinel reached by the dispatcher's client, a stock
``rq worker`` started with the recommended command and ``rq info``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.sentinel import SentinelConnectionPool
from rq import Queue
from rq.cli.helpers import get_redis_from_config

from snakebench.config import ConfigError, SentinelSettings, Settings
from snakebench.localstack.processes import free_port
from snakebench.localstack.redis_server import find_redis_server
from snakebench.queueing import HEALTH_CHECK, SERIALIZER, QueueError, connect_redis
from snakebench.queueing.connection import dashboard_url, redis_client, rq_connection_settings
from snakebench.testing.support import RQ, start_worker, wait_for

MASTER = "sbtest"


def sentinel_env(**extra: str) -> dict[str, str]:
    return {"REDIS_SENTINELS": "10.0.0.5:26379, sentinel-b:26380", **extra}


def test_sentinels_replace_the_redis_url() -> None:
    settings = Settings.from_env(
        sentinel_env(
            REDIS_SENTINEL_MASTER="bench", REDIS_SENTINEL_DB="2", REDIS_SENTINEL_PASSWORD="s3cret"
        )
    )
    assert settings.redis_sentinel == SentinelSettings(
        (("10.0.0.5", 26379), ("sentinel-b", 26380)), "bench", 2, "s3cret"
    )
    assert Settings.from_env({"REDIS_SENTINELS": "[::1]:26379"}).redis_sentinel == (
        SentinelSettings((("::1", 26379),), "mymaster", 0, None)
    )
    assert Settings.from_env({}).redis_sentinel is None
    # An empty REDIS_URL beside them is unset (platforms leave variables empty).
    assert Settings.from_env(sentinel_env(REDIS_URL="")).redis_sentinel is not None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_SENTINELS": "nohost"}, "REDIS_SENTINELS='nohost': 'nohost' is not host:port"),
        ({"REDIS_SENTINELS": "a:1,b:x"}, "'b:x' is not host:port"),
        ({"REDIS_SENTINELS": "a:1,,b:2"}, "'' is not host:port"),
        ({"REDIS_SENTINELS": "a:70000"}, "'a:70000' is not host:port"),
        (sentinel_env(REDIS_URL="redis://h:6379/0"), "REDIS_URL and REDIS_SENTINELS are both"),
        (sentinel_env(REDIS_SENTINEL_DB="one"), "REDIS_SENTINEL_DB='one' is not a database"),
        (sentinel_env(REDIS_SENTINEL_MASTER="my master"), "REDIS_SENTINEL_MASTER='my master'"),
        ({"REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS"),
    ],
)
def test_bad_sentinel_settings_are_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as caught:
        Settings.from_env(env)
    assert "\n" not in str(caught.value)


def test_a_password_never_shows_in_where_it_points() -> None:
    found = Settings.from_env(sentinel_env(REDIS_SENTINEL_PASSWORD="s3cret")).redis_sentinel
    assert found is not None and "s3cret" not in found.describe()


def test_rq_reads_the_same_connection_from_the_settings_module_dict() -> None:
    plain = Settings.from_env({"REDIS_URL": "redis://cache:6380/1"})
    assert rq_connection_settings(plain) == {"REDIS_URL": "redis://cache:6380/1", "SENTINEL": None}
    assert dashboard_url(plain) == "redis://cache:6380/1"

    settings = Settings.from_env(sentinel_env(REDIS_SENTINEL_MASTER="bench"))
    found = rq_connection_settings(settings)
    assert found["REDIS_URL"] is None
    assert found["SENTINEL"]["INSTANCES"] == [["10.0.0.5", 26379], ["sentinel-b", 26380]]
    client = get_redis_from_config(found)  # what `rq worker -c MODULE` does with it
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "bench"
    ours = redis_client(settings, connect_timeout=1, socket_timeout=1).connection_pool
    assert isinstance(ours, SentinelConnectionPool) and ours.service_name == "bench"
    assert dashboard_url(settings).startswith(
        "redis+sentinel://10.0.0.5:26379,sentinel-b:26380/bench/0?"
    )


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "RQ_"))}
    return subprocess.run(
        argv, env={**clean, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "snakebench.dispatch", "status"],
        [RQ, "info", "-c", "snakebench.queueing.rq_settings"],
    ],
    ids=["dispatch", "rq-info"],
)
def test_bad_sentinel_settings_stop_a_command_with_one_line(
    argv: list[str], tmp_path: Path
) -> None:
    done = run(argv, {"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_DB": "x"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: REDIS_SENTINEL_DB='x' is not a database number (0, 1, ...)"
    ]


def test_no_sentinel_answering_is_one_line_and_fast(tmp_path: Path) -> None:
    settings = Settings.from_env({"REDIS_SENTINELS": f"127.0.0.1:{free_port()}"})
    with pytest.raises(QueueError, match="no Sentinel named a primary") as caught:
        connect_redis(settings=settings, timeout=1.0)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


# --- a real primary and Sentinel ----------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private redis-server and one Sentinel watching it (quorum 1) on loopback; the
    environment that reaches it, database 3, through the Sentinel alone."""
    tmp = tmp_path_factory.mktemp("sentinel")
    binary = str(find_redis_server())
    port, sentinel_port = free_port(), free_port()
    conf = tmp / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {port} 1\n"
    )
    primary = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    watcher = subprocess.Popen([binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
    env = {
        "REDIS_SENTINELS": f"127.0.0.1:{sentinel_port}",
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_SENTINEL_DB": "3",
        "DATABASE_URL": f"sqlite:///{tmp / 'sb.db'}",
    }
    try:
        wait_for(lambda: _names_primary(sentinel_port), 20, "the Sentinel to name the primary")
        yield {**env, "_PORT": str(port)}
    finally:
        for process in (watcher, primary):
            process.kill()
            process.wait(10)


def _names_primary(port: int) -> bool:
    try:
        found = redis.Redis("127.0.0.1", port, socket_timeout=1).sentinel_get_master_addr_by_name(
            MASTER
        )
    except redis.RedisError:
        return False
    return bool(found)


def settings_of(env: dict[str, str]) -> Settings:
    return Settings.from_env({k: v for k, v in env.items() if not k.startswith("_")})


def test_the_dispatchers_client_reaches_the_primary_sentinel_names(
    sentinel: dict[str, str],
) -> None:
    client = connect_redis(settings=settings_of(sentinel))
    client.set("sb:sentinel-test", b"here")
    direct = redis.Redis("127.0.0.1", int(sentinel["_PORT"]), db=3)
    assert direct.get("sb:sentinel-test") == b"here"


def test_a_stock_worker_and_rq_info_find_redis_through_the_sentinel(
    sentinel: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in sentinel.items() if not k.startswith("_")}
    client = connect_redis(settings=settings_of(sentinel))
    queue = Queue("games-high", connection=client, serializer=SERIALIZER)
    job = queue.enqueue(HEALTH_CHECK)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "RQ_"))}
    # The recommended command: its -c jobs.run_game carries RQ's SENTINEL dict.
    worker = start_worker(None, name="sentinel-test", log=tmp_path / "worker.log",
                          env={**clean, **env}, cwd=tmp_path, burst=True)  # fmt: skip
    assert worker.process.wait(120) == 0, worker.output()[-3000:]
    job.refresh()
    assert job.get_status() == "finished", worker.output()[-3000:]
    assert job.return_value()["redis"] is True
    info = run([RQ, "info", "-c", "snakebench.queueing.rq_settings"], env, tmp_path)
    assert info.returncode == 0 and "games-high" in info.stdout, info.stderr


def test_the_web_app_and_its_dashboard_reach_redis_through_the_sentinel(
    sentinel: dict[str, str],
) -> None:
    from snakebench.web import WebConfig, create_app

    settings = settings_of(sentinel)
    client = connect_redis(settings=settings)
    Queue("games-low", connection=client, serializer=SERIALIZER).enqueue(HEALTH_CHECK)
    config = WebConfig(redis_sentinel=settings.redis_sentinel, database_url=settings.database_url)
    web = create_app(config).test_client()
    health = web.get("/healthz")
    assert health.get_json()["redis"] is True, health.get_json()
    queues = web.get("/rq/0/data/queues.json").get_json()["queues"]
    assert {"name": "games-low", "count": 1} in [
        {"name": q["name"], "count": q["count"]} for q in queues
    ]
