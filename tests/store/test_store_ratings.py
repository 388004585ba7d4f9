"""TrueSkill in the store, on SQLite and PostgreSQL: one update per completed game, in
the completion transaction; void games rate nothing; rebuild reproduces the ratings."""

from __future__ import annotations

import threading
from collections.abc import Callable

import peewee as pw
import pytest
import trueskill

from snakebench.services.undo import restore_game, undo_game
from snakebench.store import (
    Game,
    Model,
    RatingChange,
    complete_game,
    create_game,
    get_model,
    upsert_model,
)
from snakebench.store.rating_queries import (
    RebuildReport,
    rated_game_ids,
    rebuild_trueskill,
    retire_model,
    unretire_model,
)

# The original's environment, spelled out here rather than imported: the point is to
# check our module against the trueskill package configured by hand.
UPSTREAM = trueskill.TrueSkill(
    mu=25.0, sigma=25.0 / 3, beta=25.0 / 6, tau=0.5, draw_probability=0.1
)
OUTCOME = {"a": ("won", "lost"), "b": ("lost", "won"), "tie": ("tied", "tied")}


def _model(name: str) -> None:
    upsert_model(name, provider="bot", model_slug=name)


def _play(a: str, b: str, outcome: str, status: str = "completed") -> str:
    game = create_game(seed=1, players=[a, b])
    results = OUTCOME[outcome]
    complete_game(
        game.id,
        rounds=10,
        replay_path=None,
        total_cost=0.0,
        status=status,
        participants=[{"slot": s, "result": results[s], "score": 1} for s in (0, 1)],
    )
    return game.id


def _skills() -> dict[str, tuple[float, float]]:
    return {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in Model.select()}


GAMES = [("x", "y", "a"), ("y", "z", "tie"), ("z", "x", "a"), ("x", "y", "b"), ("x", "z", "a")]


def test_ratings_match_the_trueskill_package_by_hand(db: pw.Database) -> None:
    for name in "xyz":
        _model(name)
    expected = {name: UPSTREAM.create_rating() for name in "xyz"}
    ranks = {"a": [0, 2], "b": [2, 0], "tie": [1, 1]}
    for a, b, outcome in GAMES:
        _play(a, b, outcome)
        (new_a,), (new_b,) = UPSTREAM.rate([(expected[a],), (expected[b],)], ranks=ranks[outcome])
        expected[a], expected[b] = new_a, new_b
    for name, rating in expected.items():
        model = get_model(name)
        assert model.trueskill_mu == pytest.approx(rating.mu, abs=1e-12)
        assert model.trueskill_sigma == pytest.approx(rating.sigma, abs=1e-12)
        assert model.trueskill_exposed == pytest.approx(rating.mu - 3 * rating.sigma, abs=1e-12)
        assert model.elo_rating == pytest.approx(50 * (rating.mu - 3 * rating.sigma), abs=1e-9)
    assert RatingChange.select().count() == 2 * len(GAMES)


def test_first_win_moves_both_ratings_as_upstream_documents(db: pw.Database) -> None:
    _model("x"), _model("y")
    _play("x", "y", "a")
    # Values the trueskill package gives for 1v1 from the defaults with these parameters.
    assert get_model("x").trueskill_mu == pytest.approx(29.4048, abs=1e-4)
    assert get_model("y").trueskill_mu == pytest.approx(20.5952, abs=1e-4)
    assert get_model("x").trueskill_sigma == pytest.approx(7.1832, abs=1e-4)


@pytest.mark.parametrize("status", ["void", "failed"])
def test_a_void_or_failed_game_changes_no_rating(db: pw.Database, status: str) -> None:
    _model("x"), _model("y")
    _play("x", "y", "a")
    before = _skills()
    _play("x", "y", "a", status=status)
    assert _skills() == before
    assert RatingChange.select().count() == 2


def test_rebuild_reproduces_the_stored_ratings_exactly(db: pw.Database) -> None:
    for name in "xyz":
        _model(name)
    for a, b, outcome in GAMES * 3:
        _play(a, b, outcome)
    stored = _skills()
    check = rebuild_trueskill(write=False)
    assert (check.games, check.max_difference, check.written) == (15, 0.0, False)
    report = rebuild_trueskill()
    assert report.max_difference == 0.0 and _skills() == stored
    assert RatingChange.select().count() == 30


def test_rebuild_repairs_a_corrupted_rating(db: pw.Database) -> None:
    _model("x"), _model("y")
    _play("x", "y", "a")
    good = _skills()
    Model.update(trueskill_mu=99.0).where(Model.name == "x").execute()
    assert rebuild_trueskill(write=False).max_difference == pytest.approx(99.0 - good["x"][0])
    rebuild_trueskill()
    assert _skills() == good


def test_a_retired_model_is_left_out_of_the_rebuild(db: pw.Database) -> None:
    for name in "xyz":
        _model(name)
    _play("x", "y", "a")
    _play("z", "x", "a")
    Model.update(test_status="retired").where(Model.name == "z").execute()
    report = rebuild_trueskill()
    assert report.games == 1
    alone = UPSTREAM.rate([(UPSTREAM.create_rating(),), (UPSTREAM.create_rating(),)], ranks=[0, 2])
    assert get_model("x").trueskill_mu == pytest.approx(alone[0][0].mu)
    assert get_model("z").trueskill_mu == 25.0  # back to the prior: its games no longer count
    _play("x", "y", "b")  # still rated: no retired model in it
    assert RatingChange.select().count() == 4


def test_concurrent_completions_lose_no_update(db_url: str, db: pw.Database) -> None:
    """Threads (each its own connection) finish games of the same pair at once, half of
    them mirrored (so a careless lock order deadlocks on PostgreSQL); every update must
    build on the previous one, which the rebuild then confirms."""
    _model("x"), _model("y")
    games = [create_game(seed=i, players=["xy"[i % 2], "yx"[i % 2]]).id for i in range(24)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def finish(ids: list[str]) -> None:
        try:
            barrier.wait()
            for index, game_id in enumerate(ids):
                results = OUTCOME["a" if index % 3 else "b"]
                complete_game(
                    game_id,
                    rounds=5,
                    replay_path=None,
                    total_cost=0.0,
                    participants=[{"slot": s, "result": results[s]} for s in (0, 1)],
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            if not db.is_closed():
                db.close()

    threads = [threading.Thread(target=finish, args=(games[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert RatingChange.select().count() == 48
    assert rebuild_trueskill(write=False).max_difference == 0.0
    assert get_model("x").games_played == 24


@pytest.mark.parametrize("churn_by", ["retiring", "undoing"])
def test_retiring_or_undoing_while_games_complete_neither_deadlocks_nor_loses_updates(
    db_url: str, db: pw.Database, churn_by: str
) -> None:
    """A retire/restore loop (or an undo/restore loop of one of z's games) runs while
    threads finish games of z: both lock every model in the same id order completions
    do, so no lock cycle, and the rebuilds they run lose no completion's update."""
    for name in "xyz":
        _model(name)
    earlier = _play("z", "x", "a")
    pairs = [("x", "z"), ("z", "y"), ("y", "x")]
    games = [create_game(seed=i, players=list(pairs[i % 3])).id for i in range(30)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            if not db.is_closed():
                db.close()

    def finish(ids: list[str]) -> Callable[[], None]:
        def run() -> None:
            for game_id in ids:
                complete_game(
                    game_id, rounds=5, replay_path=None, total_cost=0.0,
                    participants=[{"slot": s, "result": OUTCOME["a"][s]} for s in (0, 1)],
                )  # fmt: skip

        return run

    def churn() -> None:
        for _ in range(5):
            if churn_by == "retiring":
                retire_model(get_model("z"))
                unretire_model(get_model("z"))
            else:
                undo_game(earlier, reason="churn", actor="test")
                restore_game(earlier, reason="churn", actor="test")

    threads = [threading.Thread(target=guarded, args=(finish(games[i::3]),)) for i in range(3)]
    threads.append(threading.Thread(target=guarded, args=(churn,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert get_model("z").test_status != "retired"
    assert RatingChange.select().count() == 62  # every game rated once z (or it) is back
    assert sum(model.games_played for model in Model.select()) == 62  # counters agree
    assert rebuild_trueskill(write=False).max_difference == 0.0


def test_a_model_against_itself_is_recorded_but_not_rated(db: pw.Database) -> None:
    """Self-play tells nothing about strength (and TrueSkill has one row per model and
    game): the game counts in the record, not in ratings, rebuilds or leaderboards."""
    _model("x"), _model("y")
    _play("x", "y", "a")
    before = _skills()
    _play("x", "x", "a")
    assert _skills() == before and RatingChange.select().count() == 2
    assert get_model("x").games_played == 3  # both seats of the self-play game count
    assert rebuild_trueskill(write=False) == RebuildReport(1, 2, 0.0, False)
    assert Game.select().where(Game.id.in_(rated_game_ids())).count() == 1
