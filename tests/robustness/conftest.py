"""Robustness tests: bad input everywhere (issue 7, "Bad input").

The hypothesis profile ``robustness`` is registered here and applied per test with
``@settings(settings.get_profile("robustness"), ...)`` rather than loaded globally,
so other folders' hypothesis tests keep their own settings when the whole suite runs.
It is derandomized (CI sees the same examples every run) and keeps no example
database, so the folder's run time and results do not drift.

The CLI fixtures point every service somewhere harmless: a SQLite file and a replay
folder in ``tmp_path`` and Redis on port 1 of 127.0.0.1, where nothing listens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import Result

settings.register_profile(
    "robustness",
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT / "tests" / "fixtures" / "upstream-replays"
DEAD_REDIS = "redis://127.0.0.1:1/0"

# Click's own usage errors print these hint lines before the one "Error: ..." line.
_USAGE_HINTS = ("Usage: ", "Try '")


def error_lines(output: str) -> list[str]:
    """The lines of ``output`` that are not click's usage hints or blank."""
    return [
        line
        for line in output.strip().splitlines()
        if line.strip() and not line.startswith(_USAGE_HINTS)
    ]


def check_usage_error(result: Result, what: str) -> None:
    """Exit status 2, no traceback, and exactly one error line (``Error: ...`` from
    click or ``error: ...`` from the App's handler); click's "Usage:"/"Try" hints
    may come before it."""
    output = result.output
    assert "Traceback" not in output, f"{what}: traceback\n{output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: raised {result.exception!r}\n{output}"
    )
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{output}"
    lines = error_lines(output)
    assert len(lines) == 1, f"{what}: {len(lines)} error lines\n{output}"
    assert lines[0].lower().startswith("error: "), f"{what}: {lines[0]!r}"


@pytest.fixture
def usage_error() -> Callable[[Result, str], None]:
    """``usage_error(result, what)``: see :func:`check_usage_error`."""
    return check_usage_error


@pytest.fixture
def safe_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A SQLite database and replay folder in ``tmp_path``, Redis on a closed port."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sb.db'}",
        "SNAKEBENCH_REPLAY_DIR": str(tmp_path / "replays"),
        "REDIS_URL": DEAD_REDIS,
    }
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SNAKEBENCH_DEBUG", raising=False)
    return env


@pytest.fixture(scope="session")
def upstream_files() -> list[Path]:
    files = sorted(UPSTREAM.glob("*.json"))
    assert files, f"no replays in {UPSTREAM}"
    return files


@pytest.fixture(scope="session")
def upstream_docs(upstream_files: list[Path]) -> list[tuple[str, Any]]:
    """``(file name, parsed JSON)`` of every upstream replay, read once."""
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in upstream_files]
