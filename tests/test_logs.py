"""snakebench.logs: the SNAKEBENCH_LOG_LEVEL setting, the one format, a setup that
never replaces someone else's, reasons kept to one bounded line, and commands that
stay quiet at their WARNING default.

pytest sets up the root logger of its own process, where :func:`configure_logging`
rightly does nothing; so what it does in a fresh process is seen in a subprocess.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from snakebench.config import ConfigError, Settings, log_level_from_env
from snakebench.logs import bounded
from snakebench.providers.base import TransientProviderError
from snakebench.providers.retry import RetryPolicy, call_with_retries

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a fresh interpreter, with ``env`` added to this one's."""
    clean = {k: v for k, v in os.environ.items() if k != "SNAKEBENCH_LOG_LEVEL"}
    argv = [sys.executable, "-c", code]
    return subprocess.run(argv, env={**clean, **env}, capture_output=True, text=True, check=True)


def test_the_level_setting_is_read_upper_cased_and_unset_by_default() -> None:
    assert Settings.from_env({}).log_level is None  # each entry point's own default
    assert Settings.from_env({"SNAKEBENCH_LOG_LEVEL": " debug "}).log_level == "DEBUG"
    assert log_level_from_env({"SNAKEBENCH_LOG_LEVEL": ""}) is None


def test_a_bad_level_is_one_line_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SNAKEBENCH_LOG_LEVEL": "loud"})
    assert str(caught.value) == (
        "SNAKEBENCH_LOG_LEVEL='loud' is not one of debug, info, warning, error, critical"
    )


LOG_TWICE = """
import logging
from snakebench.logs import configure_logging
configure_logging({first!r})
configure_logging({second!r})
logging.getLogger("snakebench.games.x").info("info line")
logging.getLogger("jobs.y").warning("warning line")
logging.getLogger("elsewhere").warning("not ours")
"""


def test_a_fresh_process_gets_one_handler_in_the_one_format() -> None:
    err = python(LOG_TWICE.format(first="INFO", second=None)).stderr.splitlines()
    assert len(err) == 3, err  # each line once, though set up twice
    assert re.fullmatch(rf"{STAMP} INFO snakebench\.games\.x: info line", err[0]), err
    assert re.fullmatch(rf"{STAMP} WARNING jobs\.y: warning line", err[1]), err
    assert err[2] == "not ours"  # another logger: left to Python's last resort


def test_a_later_call_moves_the_level() -> None:
    quieter = python(LOG_TWICE.format(first="INFO", second="WARNING")).stderr
    assert "info line" not in quieter and "warning line" in quieter


def test_a_worker_takes_its_level_from_the_setting_info_unless_told() -> None:
    code = """
import logging, jobs
for level in ("info", "warning", "error"):
    getattr(logging.getLogger("snakebench.x"), level)(f"{level} line")
"""
    default = python(code).stderr
    assert all(f"{level} line" in default for level in ("info", "warning", "error")), default
    told = python(code, SNAKEBENCH_LOG_LEVEL="error").stderr.splitlines()
    assert len(told) == 1 and re.fullmatch(rf"{STAMP} ERROR snakebench\.x: error line", told[0])
    with pytest.raises(subprocess.CalledProcessError) as bad:
        python("import jobs", SNAKEBENCH_LOG_LEVEL="loud")
    assert "ConfigError: SNAKEBENCH_LOG_LEVEL='loud' is not one of" in bad.value.stderr


def test_a_host_applications_logging_is_left_alone() -> None:
    code = """
import logging, sys
logging.basicConfig(format="HOST %(name)s %(message)s", level=logging.WARNING, stream=sys.stderr)
import jobs.run_game  # what a worker imports: it sets up our logging if nobody did
logging.getLogger("snakebench.x").info("hidden by the host's level")
logging.getLogger("snakebench.x").warning("shown")
print(logging.getLogger("snakebench").handlers, logging.getLogger("snakebench").level)
"""
    done = python(code)
    assert done.stderr.splitlines() == ["HOST snakebench.x shown"]
    assert done.stdout.split() == ["[]", "0"]


def test_bounded_escapes_control_characters_and_cuts_long_text() -> None:
    assert bounded("line one\nline two\r\x1b[31m") == "line one\\nline two\\r\\x1b[31m"
    cut = bounded("é" * 10_000)
    assert len(cut) == 200 and cut.endswith("...")
    assert bounded("short", limit=10) == "short"


def test_a_retry_line_is_one_bounded_line_whatever_the_provider_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hostile = "rate limited\n" * 5000 + "\x1b[2J"
    answers: list[Exception | str] = [TransientProviderError(hostile), "reply"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    caplog.set_level(logging.INFO, logger="snakebench")
    policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.01)
    assert call_with_retries(call, policy, lambda _: None, "m's move in round 4") == ("reply", 1)
    [record] = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING and record.name == "snakebench.providers.retry"
    assert message.startswith("m's move in round 4: retry 1 of 2 in 0.0 s: rate limited\\n")
    assert "\n" not in message and "\x1b" not in message and len(message) < 260


def test_a_bad_level_stops_a_command_with_one_line(cli: Callable[..., Result]) -> None:
    result = cli("models", "list", SNAKEBENCH_LOG_LEVEL="loud")
    assert result.exit_code == 2
    assert "SNAKEBENCH_LOG_LEVEL='loud' is not one of" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_command_that_plays_a_game_prints_no_log_lines_by_default(tmp_path: Path) -> None:
    """``snakebench play`` at its WARNING default, then told INFO by the setting."""
    store = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}"}
    play = "from snakebench.cli.main import main; main()"
    args = ["play", "greedy", "random", "--max-rounds", "5"]

    def snakebench(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", play, *args], cwd=tmp_path, text=True,
                              capture_output=True, env={**os.environ, **store, **env})  # fmt: skip

    quiet = snakebench()
    assert quiet.returncode == 0, quiet.stderr
    assert "snakebench.games" not in quiet.stdout + quiet.stderr
    told = snakebench(SNAKEBENCH_LOG_LEVEL="info")
    completed = rf"^{STAMP} INFO snakebench\.games\.game_log: game \S+ completed: "
    assert re.search(completed, told.stderr, re.M), told.stderr
