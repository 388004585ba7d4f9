"""The benchmark scripts that docs/PERFORMANCE.md quotes still start: each imports what
it needs (``scripts/benchlib.py``, the project) and parses its options. Their figures
are measured by running them, never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
BENCHES = [
    "bench_engine", "bench_dispatch", "bench_queue", "bench_scale", "bench_ratings", "bench_live",
]  # fmt: skip


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", BENCHES)
def test_a_bench_script_shows_its_options(name: str) -> None:
    done = run_script(name, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {name}.py"), done.stdout


def test_bench_scale_refuses_an_unknown_variant() -> None:
    done = run_script("bench_scale", "--variants", "greenlets")
    assert done.returncode == 2
    assert "greenlets" in done.stderr.strip().splitlines()[-1]
