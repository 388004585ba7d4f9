"""Real parts for the security tests: the session's database of the Redis at
127.0.0.1:6379 (the root conftest's, flushed around every test that takes it), an
environment with no real provider key or SnakeBench setting leaking in from the
developer's shell, and ``rq worker`` subprocesses started with the project's
documented, hardened command (:data:`snakebench.queueing.WORKER_COMMAND`) or as stock
RQ, each logging to a file.

A service that is missing skips its tests on a laptop and fails them under
``CI=true``.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import redis

from snakebench.config import Settings
from snakebench.localstack.processes import free_port
from snakebench.queueing import WORKER_COMMAND
from snakebench.store import database, open_store
from snakebench.testing import support as support
from snakebench.testing.support import QUICK_FAILURES, Worker, unavailable, wait_until

SNAKEBENCH = [sys.executable, "-m", "snakebench.cli"]
DISPATCH = [sys.executable, "-m", "snakebench.dispatch"]


@pytest.fixture
def redis_conn(real_redis: redis.Redis) -> redis.Redis:
    """The test Redis database (the root conftest's ``real_redis``), empty before and
    after the test."""
    return real_redis


@pytest.fixture
def redis_url(real_redis: redis.Redis, redis_db_url: str) -> str:
    """The URL of :func:`redis_conn`'s database (flushed around the test)."""
    return redis_db_url


@pytest.fixture
def missing() -> Callable[[str], NoReturn]:
    """``missing(reason)``: skip here, fail under ``CI=true``."""
    return unavailable


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, timeout, what)``: poll until truthy, else fail."""
    return wait_until


def clean_env(tmp: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without provider keys, database/Redis URLs or
    SnakeBench settings, pointed at ``tmp`` (SQLite, replays) and ``redis_url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_API_KEY")
        and not key.startswith(("SNAKEBENCH_", "RQ_"))
        and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'sb.db'}",
        REDIS_URL=redis_url,
        SNAKEBENCH_REPLAY_DIR=str(tmp / "replays"),
        **QUICK_FAILURES,
    )
    env.update(extra)
    return env


@pytest.fixture
def env_for() -> Callable[..., dict[str, str]]:
    """``env_for(tmp, redis_url, **extra)``: see :func:`clean_env`."""
    return clean_env


@pytest.fixture
def use_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """Make this process's environment ``env`` (as far as SnakeBench reads it)."""

    def apply(env: dict[str, str]) -> None:
        for key in list(os.environ):
            if key.endswith("_API_KEY") or key.startswith("SNAKEBENCH_") or key in env:
                monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)

    return apply


@dataclass
class Workers:
    """``rq worker`` subprocesses started by one test, stopped (by pid) at its end."""

    tmp: Path
    started: list[Worker] = field(default_factory=list)

    def start(
        self,
        env: dict[str, str],
        url: str,
        *,
        count: int = 1,
        burst: bool = True,
        command: str = WORKER_COMMAND,
    ) -> list[Worker]:
        """``count`` workers started as ``command`` says (by default the documented,
        hardened WORKER_COMMAND; PLAIN_WORKER_COMMAND for stock RQ), on ``url``, each
        logging to ``logs/worker-NAME.log``."""
        logs = self.tmp / "logs"
        logs.mkdir(exist_ok=True)
        new = []
        for _ in range(count):
            name = f"sec-{uuid.uuid4().hex[:8]}"
            log = logs / f"worker-{name}.log"
            new.append(
                support.start_worker(
                    url, name=name, log=log, env=env, cwd=self.tmp, burst=burst, command=command
                )
            )
        self.started.extend(new)
        return new

    def wait_exit(self, timeout: float) -> None:
        """For burst workers: every one has exited, cleanly."""
        support.assert_workers_exit(self.started, timeout)

    def stop(self) -> None:
        support.terminate_processes(worker.process for worker in self.started)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop()


PROGRAMS = {"snakebench": SNAKEBENCH, "dispatch": DISPATCH}
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


def run_logged(
    program: str, *args: str, env: dict[str, str], log_dir: Path, label: str
) -> subprocess.CompletedProcess[str]:
    """Run ``snakebench ARGS`` (or ``python -m snakebench.dispatch ARGS``), keep its
    stdout and stderr as files under ``log_dir``, and insist it succeeded."""
    command = [*PROGRAMS[program], *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    log_dir.mkdir(exist_ok=True)
    (log_dir / f"cli-{label}.stdout").write_text(done.stdout)
    (log_dir / f"cli-{label}.stderr").write_text(done.stderr)
    assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def run_cli() -> RunCli:
    """``run_cli(program, *args, env=, log_dir=, label=)``: see :func:`run_logged`."""
    return run_logged


@pytest.fixture
def fake_llm(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``fake_llm(label, env, *options)``: ``snakebench fake-llm`` started as a user
    starts it, its output in ``logs/fake-LABEL.log``; returns its root URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(label: str, env: dict[str, str], *options: str) -> str:
        port = free_port()
        logs = tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        with (logs / f"fake-{label}.log").open("wb") as out:
            process = subprocess.Popen(
                [*SNAKEBENCH, "fake-llm", "--port", str(port), *options],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: support.http_ok(f"{url}/healthz") or process.poll() is not None, 30, label
        )
        assert process.poll() is None, (logs / f"fake-{label}.log").read_text()
        return url

    try:
        yield start
    finally:
        support.terminate_processes(started)


@dataclass
class Store:
    """A fresh SQLite store in ``tmp`` on the test Redis, open in this process; ``env``
    is what a subprocess (worker, server, CLI) needs to share it."""

    tmp: Path
    env: dict[str, str]
    redis: redis.Redis
    redis_url: str

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)


@pytest.fixture
def store(
    tmp_path: Path,
    redis_conn: redis.Redis,
    redis_url: str,
    use_env: Callable[[dict[str, str]], None],
) -> Iterator[Store]:
    env = clean_env(tmp_path, redis_url)
    use_env(env)
    the_store = Store(tmp_path, env, redis_conn, redis_url)
    open_store(the_store.settings)
    try:
        yield the_store
    finally:
        if not database.is_closed():
            database.close()


@pytest.fixture
def public_address() -> str:
    """An IPv4 address of this machine that is not loopback (from ``hostname -I``),
    so a server bound to it is reachable beyond this machine."""
    try:
        words = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=10
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        words = []
    for word in words:
        try:
            address = ipaddress.ip_address(word)
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback and not address.is_link_local:
            with socket.socket() as probe:
                try:
                    probe.bind((word, 0))
                except OSError:
                    continue
            return word
    unavailable("this machine has no non-loopback IPv4 address to bind (hostname -I)")


@dataclass
class TlsRedis:
    """A private ``redis-server`` serving TLS only (no plain port), with a password,
    its certificate signed by a CA made for this test."""

    port: int
    password: str
    ca_file: Path
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, query: str = "", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"rediss://:{secret}@127.0.0.1:{self.port}/0" + (f"?{query}" if query else "")

    @property
    def verified_url(self) -> str:
        """The URL a careful deployment uses: the server checked against the CA."""
        return self.url(f"ssl_ca_certs={self.ca_file}")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1 / localhost signed by
    it, made with the ``openssl`` command; returns (CA, server cert, server key)."""
    folder.mkdir()
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt, ext = (folder / f"server.{s}" for s in ("key", "csr", "crt", "ext"))
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
         "-days", "2", "-subj", "/CN=SnakeBench test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "2", "-extfile", ext],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(
            ["openssl", *map(str, step)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    return ca_crt, crt, key


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[TlsRedis]:
    """Skipped (failed under CI) without ``openssl`` or a TLS-capable ``redis-server``."""
    for program in ("redis-server", "openssl"):
        if shutil.which(program) is None:
            unavailable(f"{program} is not on the PATH")
    ca, crt, key = make_certificates(tmp_path / "tls")
    port, password = free_port(), f"pw-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "redis-tls.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(crt), "--tls-key-file", str(key),
             "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
             "--requirepass", password, "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = TlsRedis(port, password, ca, process, log)
    try:
        deadline = time.monotonic() + 20
        while b"Ready to accept connections" not in log.read_bytes():
            if process.poll() is not None:
                text = log.read_text(errors="replace")
                if "tls" in text.lower() and ("support" in text.lower() or "bad directive" in text):
                    unavailable(f"redis-server lacks TLS support: {text.strip()[-300:]}")
                pytest.fail(f"redis-server with TLS exited: {text[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server with TLS not ready: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield server
    finally:
        support.terminate_processes([process])
