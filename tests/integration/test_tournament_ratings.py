"""The ratings issue's whole claim, end to end: a round robin of the built-in bots and
two fake-LLM models (served by ``snakebench fake-llm``) run through real ``rq worker``
processes ends with a leaderboard on which greedy and survivor beat random with
non-overlapping intervals, the fake models' costs are shown, and the same seeds give
the same leaderboard (played again in-process, in a second database)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakebench.localstack.processes import free_port
from snakebench.store.rating_queries import rebuild_trueskill
from snakebench.testing.support import http_ok

from .conftest import BACKENDS, Stack, wait_until

pytestmark = pytest.mark.slow

SNAKEBENCH = [sys.executable, "-m", "snakebench.cli"]
MODELS = ("greedy", "survivor", "random", "fake-greedy", "fake-survivor")
TOURNAMENT = ["--games-per-pair", "6", "--mirror", "--seed", "41", "--max-rounds", "60"]


@pytest.fixture
def fake_llm(stack: Stack) -> Iterator[str]:
    """``snakebench fake-llm`` as a user starts it; its base URL for the OpenAI SDK."""
    port = free_port()
    process = subprocess.Popen(
        [*SNAKEBENCH, "fake-llm", "--port", str(port), "--seed", "5"],
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), 30, "the fake LLM server")
        yield f"{url}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [*SNAKEBENCH, *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def _add_fake_models(env: dict[str, str], base_url: str) -> None:
    for strategy in ("greedy", "survivor"):
        _cli(
            env, "models", "add", f"fake-{strategy}", "--provider", "openai",
            "--model", f"fake/{strategy}", "--base-url", base_url,
            "--api-key-env", "OPENAI_API_KEY", "--price-input", "0.15", "--price-output", "0.6",
        )  # fmt: skip


def _board(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    rows = _cli(env, "leaderboard", "--method", "bt", "--resamples", "500", "--json")
    return {row["model"]: row for row in rows}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_round_robin_through_workers_ranks_and_prices_the_models(
    stack: Stack, fake_llm: str, tmp_path: Path
) -> None:
    env = stack.env
    _add_fake_models(env, fake_llm)
    _cli(env, "tournament", *MODELS, *TOURNAMENT, "--json")
    stack.start_workers(4, burst=True)
    stack.wait_workers_exit(timeout=300)

    report = _cli(env, "tournament-report", "--json")
    sides = report["sides"]
    assert sides["games"] == 60 and sides["slot0_won"] + sides["slot1_won"] + sides["tied"] == 60
    board = _board(env)
    assert set(board) == set(MODELS)
    for strong in ("greedy", "survivor"):
        assert board[strong]["lower"] > board["random"]["upper"], (strong, board)
    for fake in ("fake-greedy", "fake-survivor"):
        assert board[fake]["cost_per_game"] > 0 and board[fake]["cost"] > 0
        assert board[fake]["invalid_move_rate"] == 0
    assert board["greedy"]["cost"] == 0
    costs = {row["model"]: row for row in _cli(env, "costs", "--json")["models"]}
    assert costs["fake-greedy"]["cost"] == pytest.approx(board["fake-greedy"]["cost"])
    assert rebuild_trueskill(write=False).max_difference == 0.0

    # The same seeds, played again in-process in a fresh database: the same board.
    again = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'again.db'}"}
    again["SNAKEBENCH_REPLAY_DIR"] = str(tmp_path / "again-replays")
    _add_fake_models(again, fake_llm)
    _cli(again, "tournament", *MODELS, *TOURNAMENT, "--sync", "--json")
    replayed = _board(again)
    assert replayed.keys() == board.keys()
    for name, row in board.items():
        # Costs follow the replies' token counts, and the fake server words its replies
        # from one random stream shared by all requests, so their order across workers
        # changes a few tokens (as a real model's wording would); ratings, ranks,
        # records and rates must not move at all.
        exact = {key: value for key, value in row.items() if not key.startswith("cost")}
        assert {key: replayed[name][key] for key in exact} == exact, name
        assert replayed[name]["cost"] == pytest.approx(row["cost"], rel=0.01), name
