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
    "bench_video", "bench_capacity",
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


def test_bench_capacity_refuses_an_unknown_pooler() -> None:
    done = run_script("bench_capacity", "--poolers", "pgpool")
    assert done.returncode == 2
    assert "pgpool" in done.stderr.strip().splitlines()[-1]


def test_bench_capacity_names_a_saved_run_it_cannot_read(tmp_path: Path) -> None:
    done = run_script("bench_capacity", "--from-json", str(tmp_path / "none.json"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"bench_capacity: cannot read {tmp_path / 'none.json'}: "
        f"[Errno 2] No such file or directory: '{tmp_path / 'none.json'}'"
    ]
