"""``snakebench replay verify|show`` on upstream files, tampered copies and junk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Invoke

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "upstream-replays").glob("*.json"))


def test_every_upstream_replay_verifies(cli: Invoke) -> None:
    result = cli("replay", "verify", *map(str, FIXTURES))
    assert result.exit_code == 0, result.output
    oks = [line for line in result.stdout.splitlines() if ": ok" in line]
    assert len(oks) == len(FIXTURES) == 26
    assert "26 ok, 0 mismatch, 0 unreadable of 26 files" in result.stdout


PLAYED_ON = FIXTURES[0].parents[1] / "constructed" / "played-on-past-apple-target.json"
PLAYED_ON_NOTE = (
    "(rule variant inferred: apple target not enforced; "
    "played on after snake 0 reached 30 apples in round 58)"
)


def test_verify_says_which_rule_variant_it_inferred(cli: Invoke) -> None:
    result = cli("replay", "verify", str(PLAYED_ON))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{PLAYED_ON}: ok {PLAYED_ON_NOTE}"


def test_a_tampered_played_on_game_fails_naming_the_variant(cli: Invoke, tmp_path: Path) -> None:
    data = json.loads(PLAYED_ON.read_text())
    apples = data["frames"][65]["state"]["apples"]
    moved = [[9, 9], *apples[1:]]  # an apple that was already there, somewhere else
    data["frames"][65]["state"]["apples"] = moved
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(data))
    result = cli("replay", "verify", str(bad))
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        f"{bad}: mismatch at frame 65: state.apples: expected {apples!r}, found {moved!r} "
        f"{PLAYED_ON_NOTE}"
    )


def test_a_tampered_copy_prints_the_first_mismatch_and_exits_1(cli: Invoke, tmp_path: Path) -> None:
    data = json.loads(FIXTURES[0].read_text())
    data["frames"][1]["state"]["scores"]["1"] += 5
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(data))
    result = cli("replay", "verify", str(FIXTURES[1]), str(bad))
    assert result.exit_code == 1
    assert f"{FIXTURES[1]}: ok" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith(str(bad)))
    assert "mismatch at frame 1: state.scores.1: expected" in line


WITH_METADATA = next(
    p for p in FIXTURES if json.loads(p.read_text()).get("metadata", {}).get("death_info")
)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("game_result", lambda m: m["game_result"].update({"0": "won", "1": "won"})),
        ("final_scores", lambda m: m["final_scores"].update({"0": 99})),
        ("death_info", lambda m: m["death_info"].clear()),
        ("actual_rounds", lambda m: m.update(actual_rounds=m["actual_rounds"] + 1)),
        ("max_rounds", lambda m: m.update(max_rounds=7)),
        ("models", lambda m: m["models"].update({"0": "someone else"})),
        ("total_cost", lambda m: m.update(total_cost=m["total_cost"] + 1)),
        ("player_costs.1", lambda m: m["player_costs"].update({"1": 0.5})),
    ],
)
def test_a_summary_block_that_contradicts_the_frames_is_a_mismatch(
    cli: Invoke, tmp_path: Path, field: str, change: Callable[[dict[str, Any]], None]
) -> None:
    """The original's `metadata` block is what its tools read: it must agree too."""
    data = json.loads(WITH_METADATA.read_text())
    change(data["metadata"])
    bad = tmp_path / "summary.json"
    bad.write_text(json.dumps(data))
    result = cli("replay", "verify", str(bad))
    assert result.exit_code == 1, result.stdout
    assert f"mismatch at summary: metadata.{field}: expected" in result.stdout


def test_unreadable_files_exit_2_with_a_reason(cli: Invoke, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{oops")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"name": "not a replay"}')
    missing = tmp_path / "missing.json"
    result = cli("replay", "verify", str(FIXTURES[0]), str(junk), str(foreign), str(missing))
    assert result.exit_code == 2
    assert f"{junk}: unreadable: not JSON" in result.output
    assert f"{foreign}: unreadable: not a SnakeBench replay: missing 'game'" in result.output
    assert f"{missing}: unreadable: cannot read" in result.output
    assert "Traceback" not in result.output


def test_forcing_the_wrong_double_death_policy_fails_old_games(cli: Invoke) -> None:
    old = next(p for p in FIXTURES if "800bba83" in p.name)  # double death, 7 v 1, tied
    assert cli("replay", "verify", str(old)).exit_code == 0
    forced = cli("replay", "verify", "--double-death", "score", str(old))
    assert forced.exit_code == 1 and "players.0.result" in forced.stdout
    assert "rule variant inferred" not in forced.stdout  # forced, not inferred


def test_verify_names_the_double_death_rule_it_inferred(cli: Invoke) -> None:
    old = next(p for p in FIXTURES if "800bba83" in p.name)
    result = cli("replay", "verify", str(old))
    assert result.stdout.strip() == (
        f"{old}: ok (rule variant inferred: every double death tied, as before 2025-12-12; "
        "snakes 0 and 1 died together in round 19 with 7 and 1 apples and tied)"
    )


def test_show_prints_boards_moves_and_rationales(cli: Invoke) -> None:
    path = next(p for p in FIXTURES if "d399fb96" in p.name)
    result = cli("replay", "show", str(path), "--delay", "0")
    assert result.exit_code == 0
    out = result.stdout
    assert out.count("round ") == 2  # the start and the single round
    assert "Cohere: Command R7B" in out and "→ LEFT" in out and "died: head_collision" in out
    assert "Decided Next Move: LEFT" in out  # the end of the rationale


def test_show_prints_model_text_literally(cli: Invoke, tmp_path: Path) -> None:
    data = json.loads(FIXTURES[0].read_text())
    data["frames"][0]["moves"]["0"]["rationale"] = "[red]<script>alert(1)</script>[/red] UP"
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(data))
    result = cli("replay", "show", str(path), "--delay", "0")
    assert "[red]<script>alert(1)</script>[/red] UP" in result.stdout


def test_show_refuses_a_start_past_the_end(cli: Invoke) -> None:
    result = cli("replay", "show", str(FIXTURES[0]), "--start", "500")
    assert result.exit_code == 2 and "--start" in result.output


def test_a_bad_file_does_not_stop_the_files_after_it(cli: Invoke, tmp_path: Path) -> None:
    data = json.loads(FIXTURES[0].read_text())
    data["game"]["board"] = "ten by ten"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = cli("replay", "verify", str(FIXTURES[0]), str(bad), str(FIXTURES[1]))
    assert result.exit_code == 2
    assert f"{FIXTURES[1]}: ok" in result.stdout
    assert "2 ok, 0 mismatch, 1 unreadable of 3 files" in result.stdout
