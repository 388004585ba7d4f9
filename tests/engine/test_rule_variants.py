"""Rule variants `replay verify` infers from the original's files: the apple target
it did not enforce until January 2026, and the double deaths it tied until 2025-12-12."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snakebench.engine import Rules, start_state, step
from snakebench.engine.replay import parse_replay, read_replay
from snakebench.engine.verify import verify_replay
from snakebench.games.loop import GameSetup, play_game
from snakebench.options import GameOptions
from snakebench.players import make_bot

FIXTURES = Path(__file__).parents[1] / "fixtures"
UPSTREAM = sorted((FIXTURES / "upstream-replays").glob("*.json"))
PLAYED_ON = FIXTURES / "constructed" / "played-on-past-apple-target.json"
OTHER = {"UP": "LEFT", "LEFT": "DOWN", "DOWN": "RIGHT", "RIGHT": "UP"}


def played_on() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PLAYED_ON.read_text())
    return data


def upstream(name: str) -> Path:
    return next(p for p in UPSTREAM if name in p.name)


def test_a_game_played_on_past_the_apple_target_verifies() -> None:
    replay = read_replay(PLAYED_ON)
    assert replay.players["0"]["final_score"] > 30  # the file really went past 30
    assert verify_replay(replay) is None


def test_the_played_on_game_names_the_variant_the_snake_and_the_round() -> None:
    (variant,) = read_replay(PLAYED_ON).variants
    assert variant.rule == "apple_target"
    assert str(variant) == (
        "apple target not enforced; played on after snake 0 reached 30 apples in round 58"
    )


def test_the_played_on_game_fails_under_the_standard_rules() -> None:
    data = played_on()
    data["game"]["rules"] = {"apple_target": 30}  # stated rules are never second-guessed
    replay = parse_replay(data)
    assert replay.variants == ()
    mismatch = verify_replay(replay)
    assert mismatch is not None
    assert (mismatch.frame, mismatch.field) == (59, "rounds_played")
    assert str(mismatch) == "frame 59: rounds_played: expected 59, found 70"


def test_no_upstream_game_infers_the_apple_target_variant() -> None:
    inferred = {p.stem[11:19]: read_replay(p).variants for p in UPSTREAM}
    assert not [
        name for name, found in inferred.items() if any(v.rule == "apple_target" for v in found)
    ]
    assert all(read_replay(p).rules.apple_target == 30 for p in UPSTREAM)


def test_our_own_games_infer_no_variant() -> None:
    setup = GameSetup("ours", Rules(max_rounds=60), 5, {"0": "greedy", "1": "survivor"})
    outcome = play_game(setup, {"0": make_bot("greedy", 5), "1": make_bot("survivor", 5)})
    replay = parse_replay(json.loads(json.dumps(outcome.replay)))
    assert replay.variants == () and verify_replay(replay) is None


def test_a_changed_move_after_the_target_fails_at_its_frame() -> None:
    data = played_on()
    moves = data["frames"][62]["moves"]["0"]
    moves["move"] = OTHER[moves["move"]]
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None
    assert (mismatch.frame, mismatch.field) == (62, "state.snakes.0")


def test_a_score_raised_to_the_target_fails_rather_than_inferring_a_variant() -> None:
    data = json.loads(upstream("8fd12ab5").read_text())  # an ordinary game, 20 rounds
    data["frames"][5]["state"]["scores"]["1"] = 30
    replay = parse_replay(data)
    assert [v.rule for v in replay.variants] == ["apple_target"]
    mismatch = verify_replay(replay)
    assert mismatch is not None
    assert str(mismatch).startswith("frame 5: state.scores.1: expected ")


def test_a_played_on_game_cut_short_fails() -> None:
    data = played_on()
    del data["frames"][64:]
    data["game"]["rounds_played"] = 64
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and mismatch.field == "game over"


def test_a_played_on_game_with_a_changed_result_fails() -> None:
    data = played_on()
    data["players"]["0"]["result"] = "tied"
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and str(mismatch) == (
        "summary: players.0.result: expected 'won', found 'tied'"
    )


def test_step_without_the_apple_target_plays_on_past_30() -> None:
    rules = Rules(width=10, height=10, num_apples=1).without_apple_target()
    state = start_state({"0": [(5, 5)], "1": [(1, 1)]}, [(5, 6)], {"0": 29, "1": 0})
    after = step(state, {"0": "UP", "1": "UP"}, rules, lambda *_: [(9, 9)])
    assert after.scores["0"] == 30 and not after.over
    standard = step(state, {"0": "UP", "1": "UP"}, Rules(), lambda *_: [(9, 9)])
    assert standard.results == {"0": "won", "1": "lost"}


def test_without_the_apple_target_no_score_can_reach_it() -> None:
    rules = Rules(width=7, height=4, apple_target=5)
    assert rules.without_apple_target().apple_target == 28  # a score stays <= 7*4 - 2
    assert rules.without_apple_target(start_score=3).apple_target == 31
    assert rules.without_apple_target().max_rounds == rules.max_rounds


def test_a_tied_double_death_on_unequal_scores_is_named() -> None:
    (variant,) = read_replay(upstream("800bba83")).variants  # 2025-12-11, 7 v 1, tied
    assert variant.rule == "double_death"
    assert str(variant) == (
        "every double death tied, as before 2025-12-12; "
        "snakes 0 and 1 died together in round 19 with 7 and 1 apples and tied"
    )


def test_a_double_death_on_equal_scores_names_no_variant() -> None:
    replay = read_replay(upstream("96e86da6"))  # 2025-11-15, both died on 2 apples
    assert replay.rules.double_death == "tie" and replay.variants == ()


def test_a_tampered_double_death_still_fails() -> None:
    data = json.loads(upstream("800bba83").read_text())
    data["players"]["0"]["result"] = "won"
    data["players"]["1"]["result"] = "lost"
    mismatch = verify_replay(parse_replay(data))
    assert mismatch is not None and mismatch.field == "players.0.result"


def test_our_games_take_the_variant_as_an_apple_target_of_the_board_size() -> None:
    options = GameOptions(width=100, height=100, apple_target=100 * 100)
    options.check()  # the largest board still has room for it
    assert options.rules() == Rules(width=100, height=100, max_rounds=100).without_apple_target()
