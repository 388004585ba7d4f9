"""The log lines a stored game's run writes: its start and its end however it ends
(completed, void, failed, cancelled by a cap, by its operator, interrupted), each
provider retry, and the call a spending cap refused. Real SQLite, real SDKs talking
to the fake provider server on loopback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from unittest.mock import Mock

import pytest

from snakebench.config import Settings
from snakebench.engine import GameState
from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.games import simulation
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.store import cancel_game, create_batch, upsert_model

GAMES = "snakebench.games.game_log"
SECONDS = r"\d+\.\d s"


@pytest.fixture
def settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Settings:
    """The folder's fresh store, with quick retries; snakebench's INFO lines captured."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    caplog.set_level(logging.INFO, logger="snakebench")
    return replace(settings, provider_retries=3, retry_base_delay=0.01, retry_max_delay=0.05)


def serve(options: FakeOptions, name: str, **prices: float) -> Iterator[str]:
    """The fake provider with ``options``, and a model ``name`` on it."""
    with FakeLLMServer(options) as server:
        upsert_model(name, provider="openai", model_slug="fake/model",
                     base_url=f"{server.url}/v1", **prices)  # fmt: skip
        yield name


@pytest.fixture
def healthy(settings: Settings) -> Iterator[str]:
    options = FakeOptions(strategy="survivor", seed=4)
    yield from serve(options, "healthy", price_input_per_m=5.0, price_output_per_m=20.0)


@pytest.fixture
def broken(settings: Settings) -> Iterator[str]:
    """A model whose provider answers every request with a server error."""
    yield from serve(FakeOptions(error_rate=1.0), "broken")


def lines(caplog: pytest.LogCaptureFixture, logger: str = GAMES) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]


def last_line(caplog: pytest.LogCaptureFixture, level: int, pattern: str) -> str:
    """The last game line, checked: at ``level``, matching ``pattern`` whole."""
    found, message = lines(caplog)[-1]
    assert found == level and re.fullmatch(pattern, message), (logging.getLevelName(found), message)
    return message


def new_game(settings: Settings, a: str, b: str, **params: Any) -> str:
    return create_stored_game(a, b, GameParams(seed=3, **params), settings=settings).id


def test_a_completed_game_logs_its_start_and_its_end(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    gid = new_game(settings, "greedy", "random", max_rounds=30)
    result = run_stored_game(gid, settings=settings, worker="w1")
    assert lines(caplog)[0] == (
        logging.INFO,
        f"game {gid} started: greedy vs random (run 1, worker w1)",
    )
    scores = "-".join(str(result["final_scores"][slot]) for slot in ("0", "1"))
    [winner] = [slot for slot, r in result["game_result"].items() if r == "won"] or [None]
    verdict = {"0": "greedy won", "1": "random won", None: "tied"}[winner]
    last_line(caplog, logging.INFO, rf"game {gid} completed: greedy vs random, {verdict} "
              rf"{scores}, {result['rounds']} rounds, \$0\.0000, {SECONDS}")  # fmt: skip
    assert len(lines(caplog)) == 2


def test_a_void_game_logs_each_retry_and_its_end_with_the_reason(
    settings: Settings, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    gid = new_game(settings, broken, "random")
    assert run_stored_game(gid, settings=settings)["status"] == "void"
    retries = lines(caplog, "snakebench.providers.retry")
    assert [level for level, _ in retries] == [logging.WARNING] * 2  # 3 attempts, 2 retries
    for number, (_, message) in enumerate(retries, 1):
        retry = rf"broken's move in round 0: retry {number} of 2 in {SECONDS}: model 'broken': "
        assert re.fullmatch(retry + "HTTP 500: .+", message), message
    reason = r"model 'broken': HTTP 500: .+ \(gave up after 3 attempts\)"
    end = rf"game {gid} void: broken vs random, 0 rounds, \$0\.0000, {SECONDS}: {reason}"
    last_line(caplog, logging.WARNING, end)


def test_a_game_that_cannot_start_logs_its_failure(
    settings: Settings,
    healthy: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gid = new_game(settings, healthy, "random")
    monkeypatch.delenv("OPENAI_API_KEY")  # gone since dispatch checked it
    assert run_stored_game(gid, settings=settings)["status"] == "failed"
    last_line(caplog, logging.ERROR, rf"game {gid} failed: healthy vs random, 0 rounds, "
              rf"\$0\.0000, {SECONDS}: MissingApiKeyError: .*OPENAI_API_KEY.*")  # fmt: skip


def test_a_call_a_cap_refuses_is_logged_and_so_is_the_cancelled_end(
    settings: Settings, healthy: str, caplog: pytest.LogCaptureFixture
) -> None:
    batch = create_batch(max_cost=0.05)
    gid = new_game(settings, healthy, "random", batch_id=batch.id, max_rounds=200)
    result = run_stored_game(gid, settings=settings)
    assert result["status"] == "cancelled"
    assert f"batch {batch.id[:8]}'s --max-cost $0.05 has no room" in result["error"]
    refused = f"game {gid}: a call of healthy was refused, the game ends cancelled: "
    assert lines(caplog, "snakebench.games.spending") == [
        (logging.WARNING, refused + result["error"])
    ]
    reason = re.escape(result["error"])
    end = rf"game {gid} cancelled: healthy vs random, {result['rounds']} rounds, \$0\.0\d{{3}}, "
    last_line(caplog, logging.WARNING, end + rf"{SECONDS}: {reason}")


def test_a_game_its_operator_cancels_logs_that_its_run_stopped(
    settings: Settings, healthy: str, caplog: pytest.LogCaptureFixture
) -> None:
    gid = new_game(settings, healthy, "random", max_rounds=50)

    def cancel_at_round_two(state: GameState, decisions: Any) -> None:
        if state.round == 2:
            cancel_game(gid)

    result = run_stored_game(gid, settings=settings, on_round=cancel_at_round_two)
    assert result["status"] == "cancelled"
    last_line(caplog, logging.WARNING,
              rf"game {gid}: run 1 stopped after {SECONDS}, the game is cancelled now")  # fmt: skip


def test_an_interrupted_game_logs_its_cancellation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(simulation, "play_game", Mock(side_effect=KeyboardInterrupt))
    gid = new_game(settings, "greedy", "random")
    with pytest.raises(KeyboardInterrupt):
        run_stored_game(gid, settings=settings)
    assert lines(caplog, "snakebench.games.simulation") == [
        (logging.WARNING, f"game {gid} cancelled: interrupted by its operator")
    ]


def test_a_game_not_played_says_why(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    gid = new_game(settings, "greedy", "random", max_rounds=10)
    first = run_stored_game(gid, settings=settings)
    caplog.clear()
    assert run_stored_game(gid, settings=settings) == first  # a re-delivered job
    assert lines(caplog) == [
        (logging.INFO, f"game {gid} not played (already over): it is completed")
    ]
