"""Basic auth on everything but /healthz when a password is set; loopback only without."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker

from snakebench.config import ConfigError
from snakebench.localstack.processes import free_port
from snakebench.queueing import SERIALIZER, connect_redis
from snakebench.web import WebConfig
from snakebench.web.auth import check_binds, is_loopback

from .conftest import MakeClient


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_dashboard_needs_a_login_when_a_password_is_set(make_client: MakeClient) -> None:
    client = make_client(password="s3cret")
    refused = client.get("/rq/")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/rq/", headers=basic("admin", "wrong")).status_code == 401
    assert client.get("/rq/", headers=basic("root", "s3cret")).status_code == 401
    assert client.get("/rq/", headers=basic("admin", "s3cret")).status_code == 200
    assert client.get("/", headers=basic("admin", "s3cret")).status_code == 200
    assert client.get("/").status_code == 401


def test_a_bearer_token_also_opens_it(make_client: MakeClient) -> None:
    client = make_client(password="s3cret", api_token="tok-123")
    assert client.get("/rq/", headers={"Authorization": "Bearer tok-123"}).status_code == 200
    assert client.get("/rq/", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize(
    ("remote", "forwarded"),
    [("10.0.0.5", None), ("127.0.0.1", "203.0.113.9"), ("127.0.0.1", "127.0.0.1, 203.0.113.9")],
)
def test_without_credentials_only_this_machine_is_served(
    make_client: MakeClient, remote: str, forwarded: str | None
) -> None:
    """Whatever server listens where (gunicorn started without our config file): with
    no password and no token, a request from elsewhere, or through a proxy from
    elsewhere, gets nothing but /healthz."""
    client = make_client()
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    for path in ("/rq/", "/", "/api/games"):
        answer = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": remote})
        assert answer.status_code == 403, path
        assert b"serves this machine only" in answer.data
    health = client.get("/healthz", environ_base={"REMOTE_ADDR": remote})
    assert health.status_code in (200, 503)
    with_token = make_client(api_token="t").get("/", environ_base={"REMOTE_ADDR": remote})
    assert with_token.status_code == 200  # a token guards /rq and writes: pages are public


def test_open_without_a_password(make_client: MakeClient) -> None:
    client = make_client()
    index = client.get("/")
    assert index.status_code == 200 and b'href="/rq/"' in index.data
    assert client.get("/rq/").status_code == 200


def test_dashboard_reads_a_hardened_workers_results(
    make_client: MakeClient, redis_url: str
) -> None:
    """Results written through the restricted reader's pickle read back at /rq."""
    connection = connect_redis(redis_url)
    queue = Queue("games", connection=connection, serializer=SERIALIZER)
    queue.enqueue("builtins.dict", kwargs={"status": "healthy"}, job_id="job-1")
    SimpleWorker([queue], connection=connection, serializer=SERIALIZER).work(burst=True)
    job = make_client().get("/rq/0/data/job/job-1.json")
    assert job.status_code == 200, job.data
    assert job.json["status"] == "finished"  # type: ignore[index]
    assert job.json["result"] == {"status": "healthy"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_gunicorn_binds_need_a_password_beyond_loopback() -> None:
    check_binds(["127.0.0.1:8000", "[::1]:8000", "localhost:1"], WebConfig())
    check_binds(["0.0.0.0:8000", "unix:/run/web.sock"], WebConfig(password="x"))
    for bind in ("0.0.0.0:8000", "[::]:8000", "unix:/run/web.sock"):
        with pytest.raises(ConfigError, match="SNAKEBENCH_WEB_PASSWORD"):
            check_binds([bind], WebConfig())


def gunicorn(tmp_path: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The Procfile's gunicorn (``options`` added), without a password, ``env`` added."""
    base = {k: v for k, v in os.environ.items() if k != "SNAKEBENCH_WEB_PASSWORD"}
    base["DATABASE_URL"] = f"sqlite:///{tmp_path / 'sb.db'}"
    command = [str(Path(sys.executable).with_name("gunicorn")),
               "--config=python:snakebench.web.gunicorn_conf", *options]  # fmt: skip
    return subprocess.run(
        [*command, "snakebench.web:create_app()"],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=60,
    )


def test_gunicorn_refuses_a_public_bind_without_a_password(tmp_path: Path) -> None:
    done = gunicorn(tmp_path, f"--bind=0.0.0.0:{free_port()}")
    assert done.returncode == 2
    assert "error: refusing to serve on 0.0.0.0 without a password" in done.stderr
    # The Procfile's own line: every address on $PORT, unless SNAKEBENCH_WEB_HOST says.
    by_default = gunicorn(tmp_path, PORT=str(free_port()))
    assert by_default.returncode == 2
    assert "error: refusing to serve on 0.0.0.0 without a password" in by_default.stderr


def test_a_bad_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = gunicorn(tmp_path, PORT="eighty", SNAKEBENCH_WEB_HOST="127.0.0.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: PORT='eighty' is not a port number (1-65535)"
    ]
