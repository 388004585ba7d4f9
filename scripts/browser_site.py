"""A real SnakeBench site to point a browser at: the browser tests' and
``scripts/screenshots.py``'s shared set-up (plain Python, no pytest).

:class:`Site` owns a temporary folder with a SQLite database and the replays, a
database of the Redis on 127.0.0.1:6379 found free when it opens and claimed there
(flushed when it opens and when it closes; a second Site, a test session, takes
another), two fake LLM servers in this process, ``rq worker`` processes started as
:data:`snakebench.queueing.WORKER_COMMAND` says, and the web app served as the
Procfile's ``web`` line says (gunicorn), on a free loopback port.
:meth:`Site.populate` fills it the way an operator would: models added and batches
submitted with the CLI, played to the end by real workers.

One fake-LLM model, ``hostile``, says :data:`HOSTILE_PAYLOAD` at the start of every
reply, so a page that shows rationales as HTML runs the script.

Every process is started here and stopped here, by pid.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, closing, suppress
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer, Reply
from snakebench.fakellm.usage import FakeReply, FakeRequest
from snakebench.fakellm.wire import Wire
from snakebench.localstack.processes import free_port
from snakebench.testing.support import (
    QUICK_FAILURES,
    REDIS_SERVER,
    claim_redis_db,
    holding,
    kill_horses,
    start_worker,
    terminate_processes,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The Redis server a site claims a free database of.
REDIS_SERVER_URL = os.environ.get("SNAKEBENCH_BROWSER_REDIS_URL", REDIS_SERVER)

CHROMIUM = "/usr/bin/chromium"  # Debian's; ``playwright install`` is not used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

HOSTILE_PAYLOAD = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
HOSTILE_PREFIX = "hostile/"  # fake models whose slug starts so say the payload

# The colours the replay viewer draws with.
COLOURS = {
    "head0": "#1d4ed8",
    "body0": "#60a5fa",
    "head1": "#c2410c",
    "body1": "#fb923c",
    "apple": "#dc2626",
    "empty": "#f1f5f9",
}


class SiteError(RuntimeError):
    """A step of the set-up failed; the message says which and shows its output."""


def launch_options() -> dict[str, Any]:
    """``playwright.chromium.launch`` keywords for Debian's chromium."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class _HostileWire:
    """A wire protocol that puts :data:`HOSTILE_PAYLOAD` before the reply text of the
    models whose slug starts with :data:`HOSTILE_PREFIX`; the rest pass unchanged."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire

    def read_request(self, body: Any) -> FakeRequest:
        return self._wire.read_request(body)

    def success(self, model: str, reply: FakeReply) -> Any:
        if model.startswith(HOSTILE_PREFIX):
            reply = replace(reply, text=f"{HOSTILE_PAYLOAD}\n{reply.text}")
        return self._wire.success(model, reply)

    def error(self, kind: Any, message: str) -> Any:
        return self._wire.error(kind, message)


def hostile_fake_server(options: FakeOptions) -> FakeLLMServer:
    """The project's fake LLM server, its replies passed through :class:`_HostileWire`
    (the server looks up ``app.respond`` per request, so wrapping it is enough)."""
    server = FakeLLMServer(options)
    respond = server.app.respond

    def hostile_respond(wire: Wire, raw: bytes, headers: Any = None) -> Reply:
        return respond(_HostileWire(wire), raw, headers)

    server.app.respond = hostile_respond  # type: ignore[method-assign]
    return server


class Site:
    """See the module docstring. Use as a context manager."""

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="sb-browser-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.redis_url = ""  # the claimed database's, once open
        self.redis: redis.Redis | None = None
        self._held = ExitStack()  # the Redis database, claimed while the site is open
        self.fast_llm: FakeLLMServer | None = None
        self.slow_llm: FakeLLMServer | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.web: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.env: dict[str, str] = {}
        self.batches: dict[str, dict[str, Any]] = {}  # populate()'s, by name

    # --- lifecycle --------------------------------------------------------------------

    def open(self) -> Site:
        """Claim a free Redis database, start the fake LLM servers, write the environment."""
        # QueueError without a Redis, RedisDatabaseTaken when none is free
        claim = self._held.enter_context(holding(claim_redis_db(REDIS_SERVER_URL)))
        self.redis_url = claim.url
        self.redis = self._held.enter_context(closing(_connect(self.redis_url)))
        self.fast_llm = hostile_fake_server(FakeOptions(seed=7)).start()
        self.slow_llm = FakeLLMServer(FakeOptions(seed=8, latency_ms=200)).start()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.endswith("_API_KEY")
            and not key.startswith("SNAKEBENCH_")
            and key not in ("DATABASE_URL", "REDIS_URL", "PORT")
        }
        env.update(
            DATABASE_URL=f"sqlite:///{self.root / 'snakebench.db'}",
            REDIS_URL=self.redis_url,
            SNAKEBENCH_REPLAY_DIR=str(self.root / "replays"),
            OPENAI_API_KEY="sk-fake-not-a-secret",
            **QUICK_FAILURES,
            WEB_CONCURRENCY="2",
        )
        self.env = env
        self.cli("db", "upgrade")
        return self

    def close(self) -> None:
        self.stop_workers()
        if self.web is not None:
            terminate_processes([self.web], grace=15)
            self.web = None
        for server in (self.fast_llm, self.slow_llm):
            if server is not None:
                server.stop()
        with suppress(redis.RedisError):
            self._held.close()  # closes Redis, flushes and releases the database
        if self._own_root:
            subprocess.run(["rm", "-rf", str(self.root)], check=False)

    def __enter__(self) -> Site:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- commands ---------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300) -> Any:
        """``snakebench ARGS`` with the site's environment; parsed JSON with --json."""
        return self._run([sys.executable, "-m", "snakebench.cli", *args], timeout)

    def dispatch(self, *args: str, timeout: float = 120) -> Any:
        """``python -m snakebench.dispatch ARGS`` against the site's Redis (never --local)."""
        return self._run([sys.executable, "-m", "snakebench.dispatch", *args], timeout)

    def submit(self, *args: str) -> dict[str, Any]:
        """Submit a batch; its summary (``batch_id``, ``games``, ...)."""
        result: dict[str, Any] = self.dispatch(*args, "--json")
        return result

    def _run(self, command: list[str], timeout: float) -> Any:
        done = subprocess.run(
            command, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise SiteError(f"{shlex.join(command[2:])} failed:\n{done.stdout}{done.stderr}")
        return json.loads(done.stdout) if "--json" in command else done.stdout

    # --- models and games -------------------------------------------------------------

    def add_fake_model(
        self,
        name: str,
        slug: str,
        *flags: str,
        slow: bool = False,
        on: FakeLLMServer | None = None,
    ) -> None:
        """A model of the fast fake server, the slow one, or ``on`` another."""
        server = on or (self.slow_llm if slow else self.fast_llm)
        assert server is not None, "open() the site first"
        self.cli(
            "models", "add", name, "--provider", "openai", "--model", slug,
            "--base-url", f"{server.url}/v1", "--api-key-env", "OPENAI_API_KEY",
            "--price-input", "0.15", "--price-output", "0.6", *flags,
        )  # fmt: skip

    def populate(self) -> dict[str, Any]:
        """Models and finished batches: bot games, fake-LLM games, and games of the
        ``hostile`` model. Returns the batch summaries by name."""
        # On the Responses API with a reasoning summary: its moves show their reasoning.
        self.add_fake_model("fake-greedy", "fake/greedy", "--api", "responses",
                            "--reasoning-effort", "low", "--reasoning-summary", "auto")  # fmt: skip
        self.add_fake_model("hostile", f"{HOSTILE_PREFIX}survivor")
        self.add_fake_model("slow-fake", "fake/greedy", slow=True)
        short = ["--max-rounds", "60"]
        batches = {
            "bots": self.submit("--model-a", "greedy", "--model-b", "random", "--count", "6",
                                "--seed", "100", "--name", "bots", *short),
            "survivors": self.submit("--model-a", "survivor", "--model-b", "greedy",
                                     "--count", "4", "--mirror", "--seed", "200", *short),
            "fake": self.submit("--model-a", "fake-greedy", "--model-b", "survivor",
                                "--count", "4", "--mirror", "--seed", "300", *short),
            "hostile": self.submit("--model-a", "hostile", "--model-b", "greedy",
                                   "--count", "2", "--seed", "400", "--name", "hostile",
                                   *short),
        }  # fmt: skip
        self.start_workers(2, burst=True)
        self.wait_workers(timeout=300)
        self.batches.update(batches)
        return batches

    # --- workers ----------------------------------------------------------------------

    def start_workers(
        self, count: int, *, burst: bool = False, max_jobs: int | None = None
    ) -> list[subprocess.Popen[bytes]]:
        """``count`` workers as WORKER_COMMAND says, on the site's Redis; ``max_jobs`` makes
        each exit after that many jobs. Without ``burst`` this returns once each is
        registered in Redis (or has already done its ``max_jobs`` and exited)."""
        started = []
        for _ in range(count):
            name = f"browser-{uuid.uuid4().hex[:8]}"
            worker = start_worker(
                self.redis_url, name=name, log=self.root / f"worker-{name}.log", env=self.env,
                cwd=self.root, burst=burst, max_jobs=max_jobs,
            )  # fmt: skip
            process = worker.process
            started.append(process)
            self.workers.append(process)
            if not burst:
                assert self.redis is not None
                ready = partial(worker.registered_or_gone, self.redis)
                wait_for(ready, 60, f"worker {name} to start", error=SiteError)
                if process.poll() not in (None, 0):
                    raise SiteError(f"worker {name} failed:\n{self.worker_logs()}")
        return started

    def wait_workers(self, timeout: float) -> None:
        """Wait for burst workers to finish the queues and exit."""
        deadline = time.monotonic() + timeout
        for process in self.workers:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise SiteError(f"workers still busy after {timeout:.0f} s") from None
            if process.returncode != 0:
                raise SiteError(f"a worker failed:\n{self.worker_logs()}")
        self.workers.clear()

    def stop_workers(self) -> None:
        """Stop every worker started here: their work horses first (SIGKILL, a game
        in play is abandoned), then the workers (SIGTERM)."""
        for process in self.workers:
            kill_horses(process.pid)
            terminate_processes([process], grace=15)
        self.workers.clear()

    def worker_logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
            for log in sorted(self.root.glob("worker-*.log"))
        )

    # --- the web app ------------------------------------------------------------------

    def serve(self) -> str:
        """The Procfile's web process on a free loopback port (``PORT`` and
        ``SNAKEBENCH_WEB_HOST``, as a platform or ``.env`` sets them); its base URL."""
        words = shlex.split(_procfile_line("web"))
        assert words[0] == "gunicorn", words
        port = free_port()
        words[0] = str(BIN / "gunicorn")
        env = {**self.env, "PORT": str(port), "SNAKEBENCH_WEB_HOST": "127.0.0.1"}
        log = (self.root / "web.log").open("wb")
        self.web = subprocess.Popen(
            words, env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.base_url = f"http://127.0.0.1:{port}"
        web = self.web
        wait_for(
            lambda: self._answers() or web.poll() is not None, 60, "the web app", error=SiteError
        )
        if self.web.poll() is not None:
            raise SiteError(f"the web app exited:\n{self.web_log()}")
        return self.base_url

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # 503 while no worker runs: it is up
        except OSError:
            return False

    def web_log(self) -> str:
        path = self.root / "web.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the site's database."""
        with closing(sqlite3.connect(self.root / "snakebench.db")) as db:
            return db.execute(query, params).fetchall()

    def game_ids(self, batch: str, status: str = "completed") -> list[str]:
        """Ids of a populated batch's games in ``status``, by seed."""
        rows = self.sql(
            "SELECT id FROM games WHERE batch_id = ? AND status = ? ORDER BY seed",
            self.batches[batch]["batch_id"],
            status,
        )
        return [row[0] for row in rows]

    def submit_game(self, model_a: str, model_b: str, *, seed: int, max_rounds: int) -> str:
        """One game submitted at high priority (a worker plays it next): its id."""
        batch = self.submit(
            "--model-a", model_a, "--model-b", model_b, "--count", "1", "--seed", str(seed),
            "--max-rounds", str(max_rounds), "--priority", "high", "--name", f"game-{seed}",
        )  # fmt: skip
        [(game_id,)] = self.sql("SELECT id FROM games WHERE batch_id = ?", batch["batch_id"])
        return str(game_id)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.base_url}{path}", timeout=10) as response:
            return json.load(response)


def _connect(url: str) -> redis.Redis:
    """A client for the site's Redis database; it connects on first use."""
    return redis.Redis.from_url(url, socket_connect_timeout=2)


def _procfile_line(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise SiteError(f"no {kind!r} process in the Procfile")
