"""Replays: every upstream game re-simulates exactly; any tampering is caught."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from snakebench.engine import Rules
from snakebench.engine.replay import ReplayFormatError, parse_replay, read_replay, write_replay
from snakebench.engine.verify import verify_replay
from snakebench.games.loop import GameSetup, play_game
from snakebench.players import make_bot

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "upstream-replays").glob("*.json"))
OTHER = {"UP": "LEFT", "LEFT": "DOWN", "DOWN": "RIGHT", "RIGHT": "UP"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_there_are_upstream_fixtures() -> None:
    assert len(FIXTURES) == 26


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem[11:19])
def test_upstream_replay_verifies(path: Path) -> None:
    assert verify_replay(read_replay(path)) is None


def test_both_frame_conventions_are_present_and_detected() -> None:
    conventions = {read_replay(p).convention for p in FIXTURES}
    assert conventions == {"pre", "post"}


def test_old_games_tie_double_deaths_and_new_ones_score_them() -> None:
    policies = {p.stem[11:19]: read_replay(p).rules.double_death for p in FIXTURES}
    assert policies["800bba83"] == "tie"  # 2025-12-11, 7 vs 1 recorded as tied
    assert policies["aae972a5"] == "score"  # 2025-12-13, 12 vs 11 recorded as won/lost


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem[11:19])
def test_a_changed_move_is_caught(path: Path) -> None:
    # Round 0: in a fatal round a changed move can leave no trace, since nothing moves.
    data = load(path)
    frame = data["frames"][0]
    frame["moves"]["0"]["move"] = OTHER[frame["moves"]["0"]["move"]]
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem[11:19])
def test_a_changed_score_is_caught(path: Path) -> None:
    data = load(path)
    data["players"]["1"]["final_score"] += 1
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and mismatch.field == "players.1.final_score"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem[11:19])
def test_a_changed_apple_is_caught(path: Path) -> None:
    data = load(path)
    index = len(data["frames"]) // 2
    apples = data["frames"][index]["state"]["apples"]
    occupied = {tuple(c) for c in apples} | {
        tuple(c) for body in data["frames"][index]["state"]["snakes"].values() for c in body
    }
    free = next(
        [x, y]
        for x in range(10)
        for y in range(data["game"]["board"]["height"])
        if (x, y) not in occupied
    )
    # The first apple was already on the board a round earlier. (A changed *new*
    # apple is a legal alternative spawn; it shows only once somebody eats there.)
    apples[0] = free
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and "apples" in mismatch.field


def test_mismatch_names_frame_field_expected_and_found() -> None:
    path = next(p for p in FIXTURES if "8fd12ab5" in p.name)
    data = load(path)
    data["frames"][3]["state"]["scores"]["0"] = 99
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None
    assert (mismatch.frame, mismatch.field, mismatch.found) == (3, "state.scores.0", 99)
    assert str(mismatch).startswith("frame 3: state.scores.0: expected ")


def test_an_apple_spawned_on_a_snake_is_caught() -> None:
    path = next(p for p in FIXTURES if "8fd12ab5" in p.name)
    data = load(path)
    # Round 0: snake 1 eats (1,7) and (3,6) is spawned; put the spawn on snake 0.
    data["frames"][0]["state"]["apples"][-1] = data["frames"][0]["state"]["snakes"]["0"][0]
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and "occupied" in str(mismatch.found)


def test_extra_rounds_after_the_end_are_caught() -> None:
    path = next(p for p in FIXTURES if "1235ebf8" in p.name)  # ended at max_rounds=3
    data = load(path)
    data["frames"].append(copy.deepcopy(data["frames"][-1]))
    data["game"]["rounds_played"] += 1
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and mismatch.field == "rounds_played"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "top level is not an object"),
        ('{"hello": "world"}', "missing 'game'"),
        ('{"game": {}, "players": {"0": {}}, "initial_state": {}, "frames": []}', "initial_state"),
        ("", "not JSON"),
    ],
)
def test_unreadable_files_raise_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ReplayFormatError, match=message):
        read_replay(path)


def test_wrong_types_inside_frames_are_format_errors() -> None:
    data = load(FIXTURES[0])
    data["frames"][1]["state"]["snakes"]["0"] = "head"
    with pytest.raises(ReplayFormatError, match="frame 1 state: snake 0"):
        parse_replay(data)


def test_truncated_file_is_a_format_error(tmp_path: Path) -> None:
    text = FIXTURES[0].read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ReplayFormatError):
        read_replay(path)


def _bot_game(seed: int, game_id: str = "g") -> dict[str, Any]:
    setup = GameSetup(game_id, Rules(max_rounds=60), seed, {"0": "greedy", "1": "survivor"})
    outcome = play_game(setup, {"0": make_bot("greedy", seed), "1": make_bot("survivor", seed)})
    return outcome.replay


@pytest.mark.parametrize("seed", range(12))
def test_our_replays_verify_after_a_round_trip(tmp_path: Path, seed: int) -> None:
    path = write_replay(tmp_path / "game.json", _bot_game(seed))
    replay = read_replay(path)
    assert replay.convention == "post"
    assert verify_replay(replay) is None


def test_same_seed_gives_the_same_replay_apart_from_ids_and_times() -> None:
    def stripped(doc: dict[str, Any]) -> str:
        doc = copy.deepcopy(doc)
        for key in ("id", "started_at", "ended_at"):
            doc["game"].pop(key)
        doc.pop("metadata")
        return json.dumps(doc, sort_keys=True)

    assert stripped(_bot_game(7, "a")) == stripped(_bot_game(7, "b"))
    assert stripped(_bot_game(7)) != stripped(_bot_game(8))


@pytest.mark.parametrize("seed", range(4))
def test_three_snake_games_play_out_and_verify(seed: int) -> None:
    kinds = {"0": "greedy", "1": "survivor", "2": "random"}
    setup = GameSetup("three", Rules(width=12, height=12, max_rounds=80), seed, kinds)
    outcome = play_game(setup, {sid: make_bot(kind, seed) for sid, kind in kinds.items()})
    assert outcome.status == "completed" and outcome.state.results is not None
    assert sorted(outcome.state.results) == ["0", "1", "2"]
    assert verify_replay(parse_replay(json.loads(json.dumps(outcome.replay)))) is None


def test_an_unfinished_game_verifies_only_when_marked_void_or_failed() -> None:
    doc = _bot_game(3)
    doc["frames"] = doc["frames"][:5]
    doc["game"]["rounds_played"] = 5
    mismatch = verify_replay(parse_replay(doc))
    assert mismatch is not None and mismatch.field == "game over"
    doc["game"]["status"] = "void"
    assert verify_replay(parse_replay(doc)) is None


def test_a_changed_move_in_the_repeated_final_frame_of_an_old_file_is_caught() -> None:
    path = next(p for p in FIXTURES if "49f339fd" in p.name)  # pre-move frames
    data = load(path)
    last = data["frames"][-1]["moves"]["1"]
    last["move"] = OTHER[last["move"]]
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None
    assert mismatch.field == "moves.1.move (repeated final frame)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["game"].__setitem__("board", [1]), "game.board is not an object"),
        (lambda d: d["game"].__setitem__("rules", 5), "game.rules is not an object"),
        (lambda d: d["game"]["board"].__setitem__("num_apples", "x"), "num_apples"),
        (lambda d: d["players"].__setitem__("0", "me"), "players.0 is not an object"),
        (lambda d: d["frames"][0]["moves"].__setitem__("0", "UP"), "moves.0 is not an object"),
        (lambda d: d["frames"][1]["state"]["snakes"].__setitem__("0", []), "non-empty"),
        (lambda d: d["game"]["board"].__setitem__("width", 10**9), "from 1 to 1000"),
        (lambda d: d["frames"][1]["state"]["alive"].__setitem__("0", "yes"), "true/false"),
        (lambda d: d["frames"][1]["state"]["scores"].__setitem__("0", 1.5), "whole number"),
    ],
)
def test_wrong_types_anywhere_are_format_errors(change: Any, message: str) -> None:
    data = load(FIXTURES[5])
    change(data)
    with pytest.raises(ReplayFormatError, match=re.escape(message)):
        parse_replay(data)
