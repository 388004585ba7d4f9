"""Bad settings in the environment: a clear one-line error within seconds, no hang.

The full matrix runs in-process (CliRunner) so it stays fast; the real entry points
(``python -m snakebench.dispatch`` and ``snakebench play``) run as subprocesses for
the representative cases, unreachable hosts included, all at once so the folder
waits for the slowest only. Every bound here is a hang check, not a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from snakebench.cli import dispatch
from snakebench.cli.main import app as snakebench_app

# Seconds past which a bad setting counts as a hang (a connect with no timeout), not as a
# slow start: the project's connect timeouts are 5 s, and a loaded CI machine can take
# several seconds just to import the CLI.
HANG = 30.0
CLOSED = "127.0.0.1:1"
NON_ROUTABLE = "10.255.255.1"
DISPATCH = ["--model-a", "greedy", "--model-b", "random", "--count", "1"]
UsageError = Callable[[Result, str], None]

BAD_REDIS = {
    "not a URL": "not a url",
    "empty": " ",
    "wrong scheme": "http://127.0.0.1:6379/0",
    "port not a number": "redis://127.0.0.1:notaport/0",
    "port out of range": "redis://127.0.0.1:99999/0",
    "closed port": f"redis://user:secret@{CLOSED}/0",
    "missing socket": "unix:///nonexistent/redis.sock",
    "bad database number": "redis://127.0.0.1:1/x",
}
BAD_DATABASE = {
    "not a URL": "not a url",
    "wrong scheme": "mysql://u@127.0.0.1/db",
    "sqlite without a path": "sqlite:///",
    "sqlite path under a file": "sqlite:///{tmp}/file.txt/sub.db",
    "sqlite path is a directory": "sqlite:///{tmp}",
    "sqlite file not a database": "sqlite:///{tmp}/file.txt",
    "postgres closed port": f"postgres://user:secret@{CLOSED}/db",
    "postgres port not a number": "postgresql://u@127.0.0.1:notaport/db",
    "postgres no database": "postgres://",
}
BAD_OTHER = {
    "SNAKEBENCH_MOVE_TIMEOUT": "soon",
    "SNAKEBENCH_PROVIDER_RETRIES": "-1",
    "SNAKEBENCH_RETRY_BASE_DELAY": "0",
    "SNAKEBENCH_RETRY_MAX_DELAY": "nan?",
    "SNAKEBENCH_WORKER_THREADS": "2.5",
    "SNAKEBENCH_RECONCILE_EVERY": "0",
    "SNAKEBENCH_PLACEMENT_EVERY": "-5",
    "SNAKEBENCH_PLACEMENT_BUDGET": "0",
    "SNAKEBENCH_PLACEMENT_MAX_MODELS": "many",
    "SNAKEBENCH_PLACEMENT_GAMES": "1.5",
    "SNAKEBENCH_PLACEMENT_TACTICS": "price-band,bluff",
    "SNAKEBENCH_STALE_EVERY": "soon",
    "SNAKEBENCH_STALE_AFTER": "0",
    "SNAKEBENCH_ALERT_NO_WORKER_MINUTES": "soon",
    "SNAKEBENCH_WEBHOOK_URL": "ftp://example.org/hook",
    "SNAKEBENCH_PUBLIC_URL": "example.org",
}
BAD_ORIGINS = {
    "no scheme": "localhost:3000",
    "a path": "https://snakebench.com/",
    "not http": "ftp://files.example",
    "one bad of two": "https://snakebench.com, http://localhost:3000/app",
    "port not a number": "http://localhost:port",
}


def timed(invoke: Callable[[], Result]) -> tuple[Result, float]:
    started = time.perf_counter()
    result = invoke()
    return result, time.perf_counter() - started


def no_secret(result: Result) -> None:
    assert "secret" not in result.output, f"password shown: {result.output}"


@pytest.mark.parametrize("url", list(BAD_REDIS.values()), ids=list(BAD_REDIS))
def test_bad_redis_url_dispatch(
    url: str, safe_env: dict[str, str], usage_error: UsageError
) -> None:
    result, elapsed = timed(
        lambda: CliRunner().invoke(dispatch.app, DISPATCH, env={"REDIS_URL": url})
    )
    usage_error(result, f"REDIS_URL={url!r}")
    no_secret(result)
    assert elapsed < HANG


def database_url(template: str, tmp: Path) -> str:
    (tmp / "file.txt").write_text("not a database")
    return template.replace("{tmp}", str(tmp))


@pytest.mark.parametrize("template", list(BAD_DATABASE.values()), ids=list(BAD_DATABASE))
@pytest.mark.parametrize(
    ("prog", "args"),
    [("snakebench", ["play", "greedy", "random"]), ("dispatch", [*DISPATCH, "--sync"])],
    ids=["play", "dispatch --sync"],
)
def test_bad_database_url(
    prog: str,
    args: list[str],
    template: str,
    tmp_path: Path,
    safe_env: dict[str, str],
    usage_error: UsageError,
) -> None:
    url = database_url(template, tmp_path)
    target = snakebench_app if prog == "snakebench" else dispatch.app
    result, elapsed = timed(lambda: CliRunner().invoke(target, args, env={"DATABASE_URL": url}))
    usage_error(result, f"{prog} {' '.join(args)} with DATABASE_URL={url!r}")
    no_secret(result)
    assert elapsed < HANG


@pytest.mark.parametrize("url", ["postgres://u@[::1/db", "postgres://u@[::1:5432/db"])
def test_unsplittable_database_url(url: str, safe_env: dict[str, str], usage_error: UsageError):
    result = CliRunner().invoke(
        snakebench_app, ["play", "greedy", "random"], env={"DATABASE_URL": url}
    )
    usage_error(result, f"DATABASE_URL={url!r}")


@pytest.mark.parametrize(("name", "value"), list(BAD_OTHER.items()), ids=list(BAD_OTHER))
def test_bad_numeric_settings(
    name: str, value: str, safe_env: dict[str, str], usage_error: UsageError
) -> None:
    result = CliRunner().invoke(dispatch.app, [*DISPATCH, "--sync"], env={name: value})
    usage_error(result, f"{name}={value!r}")
    assert name in result.output


@pytest.mark.parametrize("value", list(BAD_ORIGINS.values()), ids=list(BAD_ORIGINS))
def test_bad_cors_origins(value: str, safe_env: dict[str, str], usage_error: UsageError) -> None:
    name = "SNAKEBENCH_ORIGINAL_CORS_ORIGINS"
    result = CliRunner().invoke(dispatch.app, [*DISPATCH, "--sync"], env={name: value})
    usage_error(result, name)


# ------------------------------------------------------------------ subprocesses


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


SUBPROCESS_CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "dispatch, REDIS_URL not a URL": (
        ["-m", "snakebench.dispatch", *DISPATCH],
        {"REDIS_URL": "not a url"},
    ),
    "dispatch, REDIS_URL closed port": (
        ["-m", "snakebench.dispatch", *DISPATCH],
        {"REDIS_URL": f"redis://user:secret@{CLOSED}/0"},
    ),
    "dispatch, REDIS_URL non-routable": (
        ["-m", "snakebench.dispatch", *DISPATCH],
        {"REDIS_URL": f"redis://{NON_ROUTABLE}:6379/0"},
    ),
    "play, DATABASE_URL wrong scheme": (
        ["-m", "snakebench.cli", "play", "greedy", "random"],
        {"DATABASE_URL": "mysql://u@127.0.0.1/db"},
    ),
    "play, DATABASE_URL postgres closed port": (
        ["-m", "snakebench.cli", "play", "greedy", "random"],
        {"DATABASE_URL": f"postgres://user:secret@{CLOSED}/db"},
    ),
    "play, DATABASE_URL postgres non-routable": (
        ["-m", "snakebench.cli", "play", "greedy", "random"],
        {"DATABASE_URL": f"postgres://user@{NON_ROUTABLE}:5432/db"},
    ),
}


# The installed console script when there is one, as a user runs it.
SCRIPT = Path(sys.executable).with_name("snakebench")


def command(args: list[str]) -> list[str]:
    if args[:2] == ["-m", "snakebench.cli"] and SCRIPT.exists():
        return [str(SCRIPT), *args[2:]]
    return [sys.executable, *args]


def run_case(args: list[str], env: dict[str, str], cwd: Path) -> Run:
    try:
        done = subprocess.run(
            command(args),
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
    except subprocess.TimeoutExpired as exc:
        return Run(-1, str(exc.stdout), f"hung: killed after {HANG:.0f} s\n{exc.stderr}")
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def subprocess_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every subprocess case, run concurrently (a few at a time) once per module."""
    tmp = tmp_path_factory.mktemp("bad-env")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEBENCH_", "PYTEST"))}
    base.update(
        DATABASE_URL=f"sqlite:///{tmp / 'sb.db'}",
        SNAKEBENCH_REPLAY_DIR=str(tmp / "replays"),
        REDIS_URL=f"redis://{CLOSED}/0",
    )
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(run_case, args, {**base, **env}, tmp)
            for name, (args, env) in SUBPROCESS_CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(SUBPROCESS_CASES))
def test_entry_points_with_a_bad_env(name: str, subprocess_runs: dict[str, Run]) -> None:
    run = subprocess_runs[name]
    both = run.stdout + run.stderr
    assert "Traceback" not in both, both
    assert run.returncode != -1, run.stderr
    assert run.returncode == 2, f"exit {run.returncode}: {both}"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "secret" not in both


def test_the_cron_process_refuses_a_bad_interval_in_one_line(tmp_path: Path) -> None:
    rq = Path(sys.executable).with_name("rq")
    env = {**os.environ, "SNAKEBENCH_RECONCILE_EVERY": "soon", "REDIS_URL": "redis://127.0.0.1:1/0"}
    done = subprocess.run(
        [str(rq), "cron", "jobs.cron"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: SNAKEBENCH_RECONCILE_EVERY='soon' is not a whole number"
    )
    assert "Traceback" not in done.stderr
