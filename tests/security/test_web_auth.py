"""The web app served beyond loopback, as deployed: a real ``snakebench web`` or
gunicorn (the Procfile's command) process bound to a non-loopback address of this
machine, reached over TCP on that address.

- With neither a password nor an API token, both refuse to start (exit status 2).
- With a password (and a token): everything but ``/healthz`` needs credentials; the
  dashboard ``/rq/`` and a ``POST /api/batches`` answer 401 without them; with them
  the dashboard shows and the batch is written and enqueued (201). A browser's basic
  login is not enough for a write: writes take the bearer token only.
- With only a token: pages are public but ``/rq/`` and writes still need the token.

The in-process checks of the same rules (Flask test client, bind parsing) are in
tests/web; this is the end-to-end view an attacker on the network has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue

from snakebench.localstack.processes import free_port
from snakebench.queueing import SERIALIZER
from snakebench.store import batch_game_ids
from snakebench.testing.support import basic_auth as basic
from snakebench.testing.support import terminate_processes

pytestmark = pytest.mark.slow

PASSWORD = "pw-security-test"
TOKEN = "tok-security-test"
BATCH = {"model_a": "greedy", "model_b": "random", "count": 2, "max_rounds": 10, "seed": 1}
SERVERS = ("snakebench-web", "gunicorn")


def server_command(server: str, host: str, port: int) -> list[str]:
    if server == "gunicorn":
        return [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config=python:snakebench.web.gunicorn_conf",
            f"--bind={host}:{port}",
            "--workers=1",
            "snakebench.web:create_app()",
        ]
    return [sys.executable, "-m", "snakebench.cli", "web", "--host", host, "--port", str(port)]


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def call(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def serve(store: Any, public_address: str, wait_for: Callable[..., Any]) -> Iterator[Any]:
    """``serve(server, **env)``: the server on the public address with ``env`` added;
    returns its base URL once ``/healthz`` answers there."""
    started: list[subprocess.Popen[bytes]] = []

    def start(server: str, **env: str) -> str:
        port = free_port(public_address)
        log = store.tmp / f"{server}-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                server_command(server, public_address, port),
                env={**store.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        url = f"http://{public_address}:{port}"

        def up() -> bool:
            if process.poll() is not None:
                pytest.fail(f"{server} exited: {log.read_text()}")
            try:
                return call(f"{url}/healthz")[0] == 200
            except OSError:
                return False

        wait_for(up, 60, f"{server} on {url}")
        return url

    try:
        yield start
    finally:
        terminate_processes(started, grace=15)


@pytest.mark.parametrize("server", SERVERS)
def test_a_public_bind_without_password_or_token_is_refused(
    server: str, store: Any, public_address: str
) -> None:
    done = subprocess.run(
        server_command(server, public_address, free_port(public_address)),
        env=store.env,  # no SNAKEBENCH_WEB_PASSWORD, no SNAKEBENCH_API_TOKEN
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: refusing to serve on {public_address} without a password" in (
        done.stdout + done.stderr
    )


@pytest.mark.parametrize("server", SERVERS)
def test_with_a_password_the_dashboard_and_writes_need_credentials(
    server: str, serve: Any, store: Any
) -> None:
    url = serve(server, SNAKEBENCH_WEB_PASSWORD=PASSWORD, SNAKEBENCH_API_TOKEN=TOKEN)
    login = basic("admin", PASSWORD)

    status, body = call(f"{url}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    for path in ("/rq/", "/", "/api/games"):
        assert call(f"{url}{path}")[0] == 401, path
        assert call(f"{url}{path}", headers=basic("admin", "guess"))[0] == 401, path
    assert call(f"{url}/rq/", headers=login)[0] == 200
    assert call(f"{url}/rq/", headers=BEARER)[0] == 200
    assert call(f"{url}/", headers=login)[0] == 200

    batches = f"{url}/api/batches"
    assert call(batches, "POST", body=BATCH)[0] == 401
    assert call(batches, "POST", headers=login, body=BATCH)[0] == 401  # a login is no token
    assert call(batches, "POST", headers={"Authorization": "Bearer x"}, body=BATCH)[0] == 401
    assert Queue("games", connection=store.redis).count == 0  # nothing was enqueued
    status, body = call(batches, "POST", headers=BEARER, body=BATCH)
    assert status == 201, body
    games = batch_game_ids(json.loads(body)["batch_id"])
    queue = Queue("games", connection=store.redis, serializer=SERIALIZER)
    assert sorted(queue.job_ids) == sorted(games) and len(games) == 2


@pytest.mark.parametrize("server", SERVERS)
def test_with_only_a_token_pages_are_public_but_not_the_dashboard_or_writes(
    server: str, serve: Any, store: Any
) -> None:
    url = serve(server, SNAKEBENCH_API_TOKEN=TOKEN)
    assert call(f"{url}/healthz")[0] == 200
    assert call(f"{url}/")[0] == 200
    assert call(f"{url}/api/games")[0] == 200
    assert call(f"{url}/rq/")[0] == 401
    assert call(f"{url}/rq/", headers=basic("admin", "guess"))[0] == 401
    assert call(f"{url}/rq/", headers=BEARER)[0] == 200
    assert call(f"{url}/api/batches", "POST", body=BATCH)[0] == 401
    assert Queue("games", connection=store.redis).count == 0
    assert call(f"{url}/api/batches", "POST", headers=BEARER, body=BATCH)[0] == 201
    assert Queue("games", connection=store.redis).count == 2
