"""``snakebench play`` from a user's point of view: results, storage, bad input."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.store import Game, Participant, connect

from .conftest import Invoke


def games_in(workdir: Path) -> int:
    """Games stored so far (a database never created holds none)."""
    if not (workdir / "sb.db").exists():
        return 0
    db = connect(f"sqlite:///{workdir / 'sb.db'}")
    return int(Game.select().count()) if db.table_exists("games") else 0


def test_play_json_prints_the_originals_result_and_stores_the_game(
    cli: Invoke, workdir: Path
) -> None:
    result = cli("play", "greedy", "random", "--seed", "7", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["final_scores"]) == {"0", "1"}
    assert set(data["game_result"].values()) <= {"won", "lost", "tied"}
    game = Game.get_by_id(data["game_id"])
    assert game.status == "completed" and game.seed == 7
    slots = {p.slot: (p.model.name, p.score, p.result) for p in game.participants}
    assert slots[0] == ("greedy", data["final_scores"]["0"], data["game_result"]["0"])
    assert Path(data["replay_path"]).exists()


def _replay(cli: Invoke, *args: str) -> dict[str, Any]:
    result = cli("play", *args, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(Path(json.loads(result.stdout)["replay_path"]).read_text())
    return doc


def _without_ids(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for key in ("id", "started_at", "ended_at"):
        doc["game"].pop(key)
    doc.pop("metadata")
    return doc


def test_same_seed_twice_gives_identical_replays(cli: Invoke) -> None:
    first = _replay(cli, "greedy", "survivor", "--seed", "11")
    second = _replay(cli, "greedy", "survivor", "--seed", "11")
    assert first["game"]["id"] != second["game"]["id"]
    assert _without_ids(first) == _without_ids(second)
    assert _without_ids(first) != _without_ids(_replay(cli, "greedy", "survivor", "--seed", "12"))


def test_models_option_and_rule_options(cli: Invoke) -> None:
    doc = _replay(
        cli,
        "--models",
        "random",
        "greedy",
        "--width",
        "6",
        "--height",
        "5",
        "--num-apples",
        "3",
        "--max-rounds",
        "9",
        "--apple-target",
        "4",
        "--seed",
        "2",
    )
    assert doc["game"]["board"] == {"width": 6, "height": 5, "num_apples": 3}
    assert doc["game"]["rules"]["apple_target"] == 4
    assert doc["game"]["rounds_played"] <= 9
    assert doc["players"]["0"]["name"] == "random"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["greedy", "nobody"], "unknown model 'nobody'; known: greedy, random, survivor"),
        (["greedy", "random", "--width", "2", "--height", "2"], "too few for 5 apples"),
        (["greedy", "random", "--num-apples", "-1"], "num_apples must be at least 0, got -1"),
        (["greedy", "random", "--max-rounds", "0"], "max_rounds must be at least 1, got 0"),
        (["greedy"], "two models are needed"),
        (["greedy", "random", "--double-death", "maybe"], "'maybe' is not one of 'score', 'tie'"),
        (["greedy", "random", "--seed", "99999999999999999999999"], "--seed"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli: Invoke, workdir: Path, args: list[str], message: str
) -> None:
    result = cli("play", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (workdir / "sb.db").exists()  # not even an empty database


def test_bad_database_url_is_a_clear_error(cli: Invoke) -> None:
    result = cli("play", "greedy", "random", DATABASE_URL="mysql://nowhere/db")
    assert result.exit_code == 2
    assert "DATABASE_URL='mysql://nowhere/db' is not supported" in result.output
    closed = cli("play", "greedy", "random", DATABASE_URL="postgres://u:hunter2@127.0.0.1:1/x")
    assert closed.exit_code == 2
    assert "connection refused" in closed.output and "hunter2" not in closed.output


def test_live_board_is_drawn_unless_quiet(cli: Invoke) -> None:
    shown = cli("play", "greedy", "random", "--seed", "1", "--max-rounds", "5")
    assert shown.exit_code == 0
    assert "round 5 / 5" in shown.output and "greedy" in shown.output
    quiet = cli("play", "greedy", "random", "--seed", "1", "--max-rounds", "5", "--quiet")
    assert "round 5 / 5" not in quiet.output


def test_piped_board_and_summary_keep_to_their_own_lines(tmp_path: Path) -> None:
    """`snakebench play A B 2>&1 | cat`: the board (stderr) and the summary (stdout) in
    one pipe; the summary must not be glued to the board's last line."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/sb.db"}
    env["SNAKEBENCH_REPLAY_DIR"] = str(tmp_path / "replays")
    script = str(Path(sys.executable).with_name("snakebench"))
    done = subprocess.run(
        [script, "play", "greedy", "random", "--seed", "1", "--max-rounds", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    [summary] = [line for line in lines if "after 5 rounds" in line]
    assert summary.startswith("greedy "), lines[-5:]
    assert lines[-2].startswith("game ") and lines[-1].startswith("replay ")


def test_console_script_runs_in_a_fresh_directory(tmp_path: Path) -> None:
    """The installed entry point, as a new user runs it: no database yet."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/new/sb.db"}
    env["SNAKEBENCH_REPLAY_DIR"] = str(tmp_path / "replays")
    script = Path(sys.executable).with_name("snakebench")
    done = subprocess.run(
        [str(script), "play", "greedy", "random", "--seed", "7", "--json", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
    bad = subprocess.run(
        [str(script), "play", "greedy", "ghost"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: unknown model 'ghost'; known: greedy, random, survivor"
    ]


def test_participants_record_moves(cli: Invoke, workdir: Path) -> None:
    result = cli("play", "greedy", "random", "--seed", "3", "--json", "--quiet")
    game_id = json.loads(result.stdout)["game_id"]
    rows = list(Participant.select().where(Participant.game == game_id))
    game = Game.get_by_id(game_id)
    assert [r.moves for r in rows] == [game.rounds, game.rounds]
    assert all(r.invalid_moves == 0 for r in rows)


def test_sigterm_cancels_the_game_like_ctrl_c(tmp_path: Path) -> None:
    """`kill PID` (or a container stopping) mid-game: the game ends `cancelled`, not
    `running` forever."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/sb.db", "OPENAI_API_KEY": "x"}
    env["SNAKEBENCH_REPLAY_DIR"] = str(tmp_path / "replays")
    script = str(Path(sys.executable).with_name("snakebench"))
    with FakeLLMServer(FakeOptions(latency_ms=200, strategy="survivor")) as server:
        subprocess.run(
            [script, "models", "add", "slow", "--provider", "openai", "--model", "slow/survivor",
             "--base-url", f"{server.url}/v1"],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        game = subprocess.Popen(
            [script, "play", "slow", "survivor", "--quiet", "--max-rounds", "500"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        db = connect(env["DATABASE_URL"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if Game.select().where(Game.status == "running").count():
                break
            time.sleep(0.1)
        game.send_signal(signal.SIGTERM)
        _, errors = game.communicate(timeout=60)
    assert game.returncode == 130, errors
    assert errors.strip().splitlines()[-1] == "error: interrupted"
    [row] = Game.select()
    assert row.status == "cancelled"
    db.close()
