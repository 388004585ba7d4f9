"""The Procfile runs as a platform would run it: ``honcho start web worker``, with the
platform's config vars, and locally from ``.env.example`` copied to ``.env``.

(``honcho start`` alone would also run ``release``, a one-off that exits at once,
and honcho stops everything when any process exits.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from snakebench.localstack.processes import free_port, process_identity
from snakebench.testing.support import basic_auth, http_get

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "procfile-test"


def get(url: str, password: str | None = None) -> tuple[int, bytes]:
    return http_get(url, basic_auth("admin", password) if password else None, timeout=5)


def start_honcho(cwd: Path, env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    """``honcho [OPTIONS] start web worker`` on the repository's Procfile, in ``cwd``."""
    return subprocess.Popen(
        [str(BIN / "honcho"), "-f", str(REPO / "Procfile"), *options, "start", "web", "worker"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, with its start time (to tell it from pid reuse)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        identity = process_identity(child)
        if identity is not None:
            found[child] = identity
        todo.extend(children.get(child, []))
    return found


def wait_healthy(base: str, proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        status, raw = get(f"{base}/healthz")
        if status == 200:
            body = json.loads(raw)
            if body["workers"]:
                return body
        time.sleep(0.25)
    raise AssertionError(f"/healthz never healthy with a worker (last {body}, exit {proc.poll()})")


def play_a_batch(env: dict[str, str]) -> str:
    """Submit four bot games and watch them to the end (the Procfile's worker plays)."""
    dispatch = [sys.executable, "-m", "snakebench.dispatch"]
    submit = [*dispatch, "--model-a", "greedy", "--model-b", "random", "--count", "4"]
    done = subprocess.run(
        [*submit, "--seed", "1", "--max-rounds", "30", "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    batch_id: str = json.loads(done.stdout)["batch_id"]
    watch = subprocess.run(
        [*dispatch, "monitor", batch_id], env=env, capture_output=True, text=True, timeout=120
    )
    assert watch.returncode == 0, watch.stdout + watch.stderr
    return batch_id


def pages_of(base: str, batch_id: str) -> list[str]:
    """Every page and a read of the API, over the batch just played."""
    games = json.loads(get(f"{base}/api/games?batch={batch_id}", PASSWORD)[1])["games"]
    assert len(games) == 4 and {g["status"] for g in games} == {"completed"}
    game = games[0]["id"]
    paths = ["/", "/?method=bt", "/models/greedy", "/games", f"/games/{game}", "/live"]
    paths += ["/batches", f"/batches/{batch_id}", f"/api/games/{game}/replay", "/api/leaderboard"]
    return [f"{base}{path}" for path in paths]


def env_from_example(**overrides: str) -> str:
    """``.env.example`` as a user's ``.env``: its settings, ``overrides`` replacing some."""
    lines = []
    for line in (REPO / ".env.example").read_text().splitlines():
        key = line.partition("=")[0]
        lines.append(f"{key}={overrides.pop(key)}" if key in overrides else line)
    return "\n".join([*lines, *(f"{k}={v}" for k, v in overrides.items())]) + "\n"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list children")
def test_the_env_example_runs_the_procfile_locally(redis_url: str, tmp_path: Path) -> None:
    """`cp .env.example .env && honcho start web worker`, as the README says: loopback,
    no password needed, the worker plays a batch, Ctrl+C stops both."""
    port = free_port()
    (tmp_path / ".env").write_text(
        env_from_example(PORT=str(port), REDIS_URL=redis_url, WEB_CONCURRENCY="1")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEBENCH_")}
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = start_honcho(tmp_path, env)  # it reads ./.env; SQLite and replays land here
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_healthy(base, proc)["workers"] == 1
        assert get(f"{base}/rq/")[0] == 200  # loopback: no login
        database = f"sqlite:///{tmp_path / 'snakebench.db'}"  # .env's, seen from tmp_path
        batch_id = play_a_batch({**env, "REDIS_URL": redis_url, "DATABASE_URL": database})
        assert len(list((tmp_path / "replays").glob("snake_game_*.json"))) == 4, batch_id
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert "web.1" in output and "worker.1" in output
    assert f"Listening at: http://127.0.0.1:{port}" in output, output[-2000:]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list children")
def test_honcho_runs_web_and_worker_and_stops_them(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env_file = tmp_path / ".env"  # not the developer's own .env, if any
    env_file.write_text("")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
        "SNAKEBENCH_WEB_PASSWORD": PASSWORD,
        "WEB_CONCURRENCY": "1",
    }
    proc = start_honcho(tmp_path, env, "-e", str(env_file))
    try:
        base = f"http://127.0.0.1:{port}"
        health = wait_healthy(base, proc)
        assert health == {"status": "ok", "redis": True, "database": True, "workers": 1}
        assert get(f"{base}/rq/")[0] == 401
        assert get(f"{base}/rq/", PASSWORD)[0] == 200
        batch_id = play_a_batch(env)  # through the Procfile's worker, as deployed
        for page in pages_of(base, batch_id):
            status, body = get(page, PASSWORD)
            assert status == 200, (page, status, body[:300])
        running = descendants(proc.pid)
        assert len(running) >= 4  # shells, gunicorn master and worker, rq worker
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    left = [pid for pid, started in running.items() if process_identity(pid) == started]
    assert not left, f"left running: {left}\n{output}"
    assert "web.1" in output and "worker.1" in output
