"""Undoing games, on SQLite and PostgreSQL: an undone game leaves every rating, record
and counter as if it had never been played, restoring puts it back exactly, a dry run
writes nothing, and a model's evaluation reset undoes its placement games only."""

from __future__ import annotations

import peewee as pw
import pytest

from snakebench.services.undo import (
    UndoError,
    audit_log,
    reset_evaluation,
    restore_game,
    undo_game,
)
from snakebench.store import (
    Evaluation,
    Game,
    Model,
    UnknownGameError,
    complete_game,
    create_batch,
    create_game,
    get_model,
    model_record,
    upsert_model,
)
from snakebench.store.evaluation_queries import evaluation_games
from snakebench.store.models import AuditEntry
from snakebench.store.rating_queries import rated_game_ids, rebuild_trueskill, unretire_model
from snakebench.store.report_queries import rated_fingerprint
from snakebench.store.tournament_queries import results_by_model

from .test_store_ratings import GAMES, UPSTREAM
from .test_store_ratings import OUTCOME as RESULTS

RANKS = {"a": [0, 2], "b": [2, 0], "tie": [1, 1]}


def _play(a: str, b: str, outcome: str, batch_id: str | None = None) -> str:
    game = create_game(seed=1, players=[a, b], batch_id=batch_id)
    complete_game(
        game.id,
        rounds=10,
        replay_path=None,
        total_cost=0.0,
        participants=[{"slot": s, "result": RESULTS[outcome][s], "score": 2} for s in (0, 1)],
    )
    return game.id


def _played(games: list[tuple[str, str, str]] = GAMES) -> list[str]:
    for name in "xyz":
        upsert_model(name, provider="bot", model_slug=name)
    return [_play(*game) for game in games]


def _by_hand(games: list[tuple[str, str, str]]) -> dict[str, tuple[float, float]]:
    """The original's TrueSkill over ``games`` in order, with the trueskill package."""
    ratings = {name: UPSTREAM.create_rating() for name in "xyz"}
    for a, b, outcome in games:
        (ratings[a],), (ratings[b],) = UPSTREAM.rate(
            [(ratings[a],), (ratings[b],)], ranks=RANKS[outcome]
        )
    return {name: (r.mu, r.sigma) for name, r in ratings.items()}


def _stored() -> dict[str, tuple[float, float]]:
    return {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in Model.select()}


def _counters(name: str) -> tuple[int, int, int, int, int]:
    m = get_model(name)
    return m.games_played, m.wins, m.losses, m.ties, m.apples_eaten


def _assert_ratings(expected: dict[str, tuple[float, float]]) -> None:
    stored = _stored()
    for name, (mu, sigma) in expected.items():
        assert stored[name][0] == pytest.approx(mu, abs=1e-9)
        assert stored[name][1] == pytest.approx(sigma, abs=1e-9)


def test_an_undone_game_counts_nowhere_and_the_ratings_follow(db: pw.Database) -> None:
    ids = _played()
    before = {name: _counters(name) for name in "xyz"}
    outcome = undo_game(ids[1], reason="provider outage", actor="ops")

    assert not outcome.dry_run and outcome.games == (ids[1],) and outcome.rated_games == 4
    # The ratings from that game on are as if it had never been played.
    _assert_ratings(_by_hand(GAMES[:1] + GAMES[2:]))
    assert rebuild_trueskill(write=False).max_difference == 0
    assert ids[1] not in {g.id for g in rated_game_ids()}
    # y and z tied that game: it leaves their records and counters, apples too.
    assert model_record("y").games == 2 and model_record("y").ties == 0
    assert model_record("z").games == 2
    assert _counters("y") == (before["y"][0] - 1, *before["y"][1:3], 0, before["y"][4] - 2)
    assert _counters("x") == before["x"]
    # The game is kept, marked, with its audit row.
    game = Game.get_by_id(ids[1])
    assert game.status == "completed" and game.undone_at is not None
    entry = AuditEntry.get_by_id(game.undo_entry)
    assert (entry.actor, entry.action, entry.subject_id) == ("ops", "undo-game", ids[1])
    assert entry.reason == "provider outage"
    assert entry.details["games"] == [ids[1]] and entry.details["models"] == ["y", "z"]
    # The audit row keeps each rating it changed, before and after.
    stored = _stored()
    assert {d.model for d in outcome.deltas} == set(entry.details["ratings"]) == {"x", "y", "z"}
    for delta in outcome.deltas:
        assert (delta.mu_after, delta.sigma_after) == stored[delta.model]
        assert entry.details["ratings"][delta.model][2:] == list(stored[delta.model])


def test_restore_puts_back_exactly_what_was_there(db: pw.Database) -> None:
    ids = _played()
    ratings, counters = _stored(), {name: _counters(name) for name in "xyz"}
    fingerprint = rated_fingerprint()
    undo_game(ids[2], reason="r", actor="ops")
    assert rated_fingerprint() != fingerprint

    restored = restore_game(ids[2], reason="it was fine", actor="ops2")

    _assert_ratings(ratings)
    assert {name: _counters(name) for name in "xyz"} == counters
    assert rated_fingerprint() == fingerprint
    game = Game.get_by_id(ids[2])
    assert game.undone_at is None and game.undo_entry is None
    assert rebuild_trueskill(write=False).max_difference == 0
    assert [row["action"] for row in audit_log(10)] == ["restore-game", "undo-game"]
    assert audit_log(10)[0]["actor"] == "ops2" and restored.entry_id == audit_log(1)[0]["id"]


def test_a_dry_run_writes_nothing_and_foresees_the_undo(db: pw.Database) -> None:
    ids = _played()
    ratings = _stored()
    counters = {name: _counters(name) for name in "xyz"}

    dry = undo_game(ids[0], reason="r", actor="ops", dry_run=True)

    assert dry.dry_run and dry.entry_id is None
    assert _stored() == ratings
    assert {name: _counters(name) for name in "xyz"} == counters
    assert AuditEntry.select().count() == 0
    assert Game.get_by_id(ids[0]).undone_at is None
    real = undo_game(ids[0], reason="r", actor="ops")
    assert [d.model for d in dry.deltas] == [d.model for d in real.deltas]
    for foreseen, done in zip(dry.deltas, real.deltas, strict=True):
        assert foreseen.mu_after == pytest.approx(done.mu_after, abs=1e-12)
        assert foreseen.sigma_after == pytest.approx(done.sigma_after, abs=1e-12)


def test_what_cannot_be_undone_or_restored(db: pw.Database) -> None:
    ids = _played(GAMES[:2])
    undo_game(ids[0], reason="r", actor="ops")
    with pytest.raises(UndoError, match=r"already undone on .* by ops"):
        undo_game(ids[0], reason="again", actor="ops")
    with pytest.raises(UndoError, match="is not undone"):
        restore_game(ids[1], reason="", actor="ops")
    queued = create_game(seed=3, players=["x", "y"])
    with pytest.raises(UndoError, match="is queued: only a completed game"):
        undo_game(queued.id, reason="r", actor="ops")
    with pytest.raises(UnknownGameError):
        undo_game("no-such-game", reason="r", actor="ops")
    with pytest.raises(UndoError, match=r"--by"):
        undo_game(ids[1], reason="r", actor="  ")
    with pytest.raises(UndoError, match=r"--reason"):
        undo_game(ids[1], reason=" ", actor="ops")
    assert AuditEntry.select().count() == 1


def test_an_undone_game_leaves_the_ladder_and_the_tournament_report(db: pw.Database) -> None:
    _played([])
    batch = create_batch(name="ladder")
    ev = Evaluation.create(model=get_model("x").id, batch=batch.id, games_target=2)
    first = _play("x", "y", "a", batch_id=batch.id)
    second = _play("z", "x", "tie", batch_id=batch.id)
    undo_game(first, reason="r", actor="ops")

    assert [gid for gid, _, _ in evaluation_games(ev)] == [second]
    by_model = {row[0]: row for row in results_by_model(batch.id)}
    assert by_model["x"][1:5] == (1, 0, 0, 1) and "y" not in by_model


def test_an_evaluation_reset_drops_the_placement_games_only(db: pw.Database) -> None:
    _played([])
    outside = _play("x", "y", "a")  # not a placement game: it keeps counting
    batch = create_batch(name="ladder")
    model = get_model("z")
    Evaluation.create(model=model.id, batch=batch.id, games_target=2, status="finished")
    placement = [_play("z", "x", "a", batch.id), _play("y", "z", "b", batch.id)]
    Model.update(test_status="ranked").where(Model.id == model.id).execute()

    dry = reset_evaluation("z", reason="bad prompt", actor="ops", dry_run=True)
    assert dry.games == tuple(placement) and get_model("z").test_status == "ranked"
    outcome = reset_evaluation("z", reason="bad prompt", actor="ops")

    assert outcome.games == tuple(placement)
    assert get_model("z").test_status == "untested" and get_model("z").games_played == 0
    assert model_record("z").games == 0 and model_record("x").games == 1
    assert {g.id for g in rated_game_ids()} == {outside}
    _assert_ratings({**_by_hand([("x", "y", "a")])})
    assert all(Game.get_by_id(gid).undo_entry == outcome.entry_id for gid in placement)
    row = audit_log(1)[0]
    assert (row["action"], row["subject_kind"], row["subject_id"]) == (
        "reset-evaluation",
        "model",
        "z",
    )
    assert row["details"]["test_status_before"] == "ranked" and row["game_count"] == 2
    with pytest.raises(UndoError, match="no evaluation to reset"):
        reset_evaluation("z", reason="again", actor="ops")


def test_no_reset_while_evaluating_or_retired(db: pw.Database) -> None:
    _played([])
    batch = create_batch(name="ladder")
    Evaluation.create(model=get_model("z").id, batch=batch.id, status="running")
    with pytest.raises(UndoError, match="being evaluated"):
        reset_evaluation("z", reason="r", actor="ops")
    Model.update(test_status="retired").where(Model.name == "y").execute()
    with pytest.raises(UndoError, match="retired; restore it first"):
        reset_evaluation("y", reason="r", actor="ops")


def test_a_model_whose_games_are_all_undone_returns_untested(db: pw.Database) -> None:
    ids = _played(GAMES[:1])
    undo_game(ids[0], reason="r", actor="ops")
    x = get_model("x")
    Model.update(test_status="retired", is_active=False).where(Model.id == x.id).execute()
    unretire_model(x)
    assert get_model("x").test_status == "untested"
