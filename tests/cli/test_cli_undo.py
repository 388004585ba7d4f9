"""``snakebench games undo|restore``, ``models reset --evaluation-only`` and ``audit``
on real bot games played in process: ``ratings rebuild --check`` agrees after each,
a dry run writes nothing, and every refusal is one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from snakebench.store import Game, Model

from .conftest import Invoke

OneLineError = Callable[..., None]


@pytest.fixture
def played(cli: Invoke) -> Invoke:
    """Seeded bot games: greedy and survivor against random, then against each other."""
    for a, b in (("greedy", "random"), ("survivor", "random"), ("greedy", "survivor")):
        result = cli(
            "dispatch", "--model-a", a, "--model-b", b, "--count", "3", "--seed", "5",
            "--max-rounds", "40", "--sync", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return cli


def _json(cli: Invoke, *args: str, **env: str) -> Any:
    result = cli(*args, "--json", **env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _board(cli: Invoke) -> dict[str, tuple[int, float]]:
    return {r["model"]: (r["games"], r["rating"]) for r in _json(cli, "leaderboard")}


def _a_completed_game() -> str:
    return str(Game.select(Game.id).where(Game.status == "completed").order_by(Game.id).first().id)


def _check_agrees(cli: Invoke) -> None:
    check = cli("ratings", "rebuild", "--check")
    assert check.exit_code == 0, check.output
    assert "largest difference from the stored ratings: 0" in check.output


def test_undo_then_rebuild_check_agrees_and_restore_returns(played: Invoke) -> None:
    game_id = _a_completed_game()
    board = _board(played)
    names = {p.model.name for p in Game.get_by_id(game_id).participants}

    undone = played("games", "undo", game_id, "--reason", "provider outage", "--by", "ops")

    assert undone.exit_code == 0, undone.output
    assert f"undo game {game_id}: done" in undone.output and "audit #1" in undone.output
    _check_agrees(played)
    after = _board(played)
    for name in names:
        assert after[name][0] == board[name][0] - 1
    assert played("games", "restore", game_id, "--by", "ops").exit_code == 0
    _check_agrees(played)
    assert _board(played) == board
    log = _json(played, "audit")
    assert [(e["action"], e["actor"], e["subject_id"]) for e in log] == [
        ("restore-game", "ops", game_id),
        ("undo-game", "ops", game_id),
    ]
    assert log[1]["reason"] == "provider outage"


def test_a_dry_run_prints_the_deltas_and_writes_nothing(played: Invoke) -> None:
    game_id = _a_completed_game()
    ratings = {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in Model.select()}

    dry = _json(played, "games", "undo", game_id, "--reason", "r", "--dry-run")

    assert dry["dry_run"] is True and dry["audit_id"] is None and dry["games"] == [game_id]
    assert dry["deltas"] and {d["model"] for d in dry["deltas"]} <= set(ratings)
    assert {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in Model.select()} == ratings
    assert Game.get_by_id(game_id).undone_at is None
    assert _json(played, "audit") == []
    text = played("games", "undo", game_id, "--reason", "r", "--dry-run")
    assert "dry run: would undo game" in text.output and "nothing written" in text.output
    done = _json(played, "games", "undo", game_id, "--reason", "r")
    assert [d["mu_after"] for d in done["deltas"]] == pytest.approx(
        [d["mu_after"] for d in dry["deltas"]]
    )


def test_undo_twice_unknown_ids_and_restoring_a_counted_game_are_one_line(
    played: Invoke, one_line_error: OneLineError
) -> None:
    game_id = _a_completed_game()
    assert played("games", "undo", game_id, "--reason", "r", "--by", "ops").exit_code == 0
    one_line_error(
        played("games", "undo", game_id, "--reason", "again"), "already undone", "by ops"
    )
    one_line_error(played("games", "undo", "no-such-game", "--reason", "r"), "unknown game")
    one_line_error(played("games", "restore", "no-such-game"), "unknown game")
    assert played("games", "restore", game_id).exit_code == 0
    one_line_error(played("games", "restore", game_id), "is not undone")
    assert len(_json(played, "audit")) == 2


def test_the_actor_defaults_to_the_login_name(played: Invoke) -> None:
    game_id = _a_completed_game()
    result = played("games", "undo", game_id, "--reason", "r", LOGNAME="alice", USER="alice")
    assert result.exit_code == 0, result.output
    assert _json(played, "audit", "--limit", "1")[0]["actor"] == "alice"


def test_reset_evaluation_undoes_placement_and_leaves_untested(
    played: Invoke, one_line_error: OneLineError
) -> None:
    evaluated = played("evaluate", "survivor", "--games", "2", "--sync", "--max-rounds", "40")
    assert evaluated.exit_code == 0, evaluated.output
    games_before = _board(played)["survivor"][0]
    one_line_error(played("models", "reset", "survivor", "--reason", "r"), "--evaluation-only")

    reset = _json(
        played, "models", "reset", "survivor", "--evaluation-only", "--reason", "new prompt"
    )

    assert len(reset["games"]) == 2 and reset["action"] == "reset-evaluation"
    assert Model.get(Model.name == "survivor").test_status == "untested"
    assert _board(played)["survivor"][0] == games_before - 2
    _check_agrees(played)
    one_line_error(
        played("models", "reset", "survivor", "--evaluation-only", "--reason", "r"),
        "no evaluation to reset",
    )
    one_line_error(
        played("models", "reset", "nobody", "--evaluation-only", "--reason", "r"),
        "unknown model",
    )
    table = played("audit")
    assert table.exit_code == 0 and "reset-evaluation" in table.output
    assert "new prompt" in table.output
    # Placed anew: the new ladder's game counts, the reset ones stay undone.
    again = played("evaluate", "survivor", "--games", "1", "--sync", "--max-rounds", "40")
    assert again.exit_code == 0, again.output
    assert Model.get(Model.name == "survivor").test_status == "ranked"
    assert _board(played)["survivor"][0] == games_before - 1
    second = _json(played, "models", "reset", "survivor", "--evaluation-only", "--reason", "r")
    assert len(second["games"]) == 1 and not set(second["games"]) & set(reset["games"])


def test_an_empty_audit_log(cli: Invoke) -> None:
    result = cli("audit")
    assert result.exit_code == 0 and "the audit log is empty" in result.output
