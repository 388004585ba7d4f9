"""The placement ladder's tactics (``evaluate --tactic``, SNAKEBENCH_PLACEMENT_TACTICS):
each narrows the candidates, TrueSkill match quality still chooses among them. Pure
choices first, then the ladder reading them from its batch and its games."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from typer.testing import Result

from snakebench.config import Settings
from snakebench.services.evaluation import (
    LastGame,
    Tactics,
    advance,
    choose_opponent,
    evaluation_games,
    start_evaluation,
)
from snakebench.store import (
    Batch,
    Evaluation,
    Model,
    complete_game,
    game_participants,
    upsert_model,
)

Invoke = Callable[..., Result]


@dataclass(frozen=True)
class M:
    name: str
    trueskill_mu: float = 25.0
    trueskill_sigma: float = 2.0
    test_status: str = "ranked"
    is_active: bool = True
    games_played: int = 10


NEW = M("new", trueskill_sigma=25.0 / 3, test_status="testing", games_played=0)
# Ratings: "near" is the best match for NEW by quality; the others are further off.
LOW, NEAR, MID, HIGH, TOP = (
    M("low", 18.0),
    M("near", 25.0),
    M("mid", 30.0),
    M("high", 34.0),
    M("top", 40.0),
)
POOL = [NEW, LOW, NEAR, MID, HIGH, TOP]


def tactics(*names: str, last: LastGame | None = None, **prices: float) -> Tactics:
    return Tactics(names=frozenset(names), last=last, prices=prices)


def test_without_tactics_match_quality_decides() -> None:
    assert choose_opponent(NEW, POOL, {}) == NEAR
    assert choose_opponent(NEW, POOL, {}, tactics=tactics()) == NEAR


def test_price_band_starts_among_models_priced_within_four_times() -> None:
    prices = {"new": 2.0, "low": 100.0, "near": 20.0, "mid": 8.0, "high": 0.5, "top": 0.4}
    band = tactics("price-band", **prices)
    # near (10x) and top (5x) are outside the band; mid (4x) and high (1/4) are in it
    assert choose_opponent(NEW, POOL, {}, tactics=band) == MID
    assert choose_opponent(NEW, POOL, {"mid": 1}, tactics=band) == HIGH


def test_price_band_leaves_the_band_once_each_of_it_was_met() -> None:
    band = tactics("price-band", new=2.0, low=100.0, near=20.0, mid=8.0, high=0.5, top=0.4)
    assert choose_opponent(NEW, POOL, {"mid": 1, "high": 1}, tactics=band) == NEAR


def test_price_band_two_free_models_are_one_band_a_free_and_a_paid_one_are_not() -> None:
    band = tactics("price-band", new=0.0, low=0.0, near=1.0, mid=1.0, high=1.0, top=1.0)
    assert choose_opponent(NEW, POOL, {}, tactics=band) == LOW


def test_rematch_after_a_loss_by_one_apple_replays_that_opponent_once() -> None:
    lost = LastGame(opponent="top", result="lost", margin=-1)
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=tactics("rematch", last=lost)) == TOP
    # the rematch lost too: it was the one replay, quality decides again
    assert choose_opponent(NEW, POOL, {"top": 2}, tactics=tactics("rematch", last=lost)) == NEAR


def test_rematch_is_not_played_after_a_clear_loss_a_tie_or_without_the_tactic() -> None:
    clear = LastGame(opponent="top", result="lost", margin=-2)
    tied = LastGame(opponent="top", result="tied", margin=0)
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=tactics("rematch", last=clear)) == NEAR
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=tactics("rematch", last=tied)) == NEAR
    close = LastGame(opponent="top", result="lost", margin=0)  # lost on the tiebreak
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=tactics("climb", last=close)) == NEAR


def test_climb_after_a_win_takes_the_next_model_up_the_ratings() -> None:
    won = LastGame(opponent="near", result="won", margin=3)
    assert choose_opponent(NEW, POOL, {"near": 1}, tactics=tactics("climb", last=won)) == MID
    # the next one up already met twice: the one above it
    history = {"near": 1, "mid": 2}
    assert choose_opponent(NEW, POOL, history, tactics=tactics("climb", last=won)) == HIGH


def test_climb_from_the_top_or_after_a_loss_leaves_it_to_match_quality() -> None:
    beat_top = LastGame(opponent="top", result="won", margin=1)
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=tactics("climb", last=beat_top)) == NEAR
    lost = LastGame(opponent="low", result="lost", margin=-5)
    assert choose_opponent(NEW, POOL, {"low": 1}, tactics=tactics("climb", last=lost)) == NEAR


def test_a_rematch_comes_before_the_price_band() -> None:
    lost = LastGame(opponent="top", result="lost", margin=-1)
    both = tactics("rematch", "price-band", last=lost, new=1.0, low=1.0, near=1.0, mid=1.0,
                   high=1.0, top=100.0)  # fmt: skip
    assert choose_opponent(NEW, POOL, {"top": 1}, tactics=both) == TOP


# --- the ladder: tactics kept in the batch, the last game read from the store -------


def _rate(name: str, mu: float, sigma: float = 2.0) -> None:
    Model.update(trueskill_mu=mu, trueskill_sigma=sigma, games_played=10,
                 test_status="ranked").where(Model.name == name).execute()  # fmt: skip


@pytest.fixture
def ladder(store: Settings) -> Callable[..., Evaluation]:
    """A new bot-backed model and three rated ones: survivor just below greedy, random
    far above both."""
    upsert_model("newcomer", provider="bot", model_slug="greedy")
    _rate("survivor", 23.0)
    _rate("greedy", 25.0)
    _rate("random", 40.0)

    def start(*names: str) -> Evaluation:
        return start_evaluation("newcomer", 4, tactics=names)

    return start


def _finish_next(ev: Evaluation, mine: int, theirs: int) -> str:
    """Create the ladder's next game and record it as ended ``mine`` to ``theirs``
    apples for the new model; return the opponent's name."""
    step = advance(ev.id)
    (game_id,) = step.pending
    slots = {p.slot: p.model.name for p in game_participants(game_id)}
    result = "won" if mine > theirs else "lost" if mine < theirs else "tied"
    flipped = {"won": "lost", "lost": "won", "tied": "tied"}[result]
    complete_game(game_id, rounds=10, replay_path=None, total_cost=0.0, participants=[
        {"slot": slot, "score": mine if name == "newcomer" else theirs,
         "result": result if name == "newcomer" else flipped}
        for slot, name in slots.items()
    ])  # fmt: skip
    return next(name for name in slots.values() if name != "newcomer")


def _next_opponent(ev: Evaluation) -> str:
    step = advance(ev.id)
    (game_id,) = step.pending
    return next(opp for gid, _, opp in evaluation_games(ev) if gid == game_id)


def test_the_ladder_keeps_its_tactics_in_its_batch(ladder: Callable[..., Evaluation]) -> None:
    ev = ladder("rematch", "climb", "rematch")
    assert Batch.get_by_id(ev.batch_id).params["tactics"] == ["rematch", "climb"]


def test_the_ladder_rematches_after_a_loss_by_one_apple(
    ladder: Callable[..., Evaluation],
) -> None:
    ev = ladder("rematch")
    first = _finish_next(ev, 2, 3)
    assert _next_opponent(ev) == first


def test_the_ladder_climbs_after_a_win(ladder: Callable[..., Evaluation]) -> None:
    ev = ladder("climb")
    first = _finish_next(ev, 5, 1)
    assert first == "greedy"  # the best match by quality: the middle rating
    assert _next_opponent(ev) == "random"  # the next one up


def test_the_ladder_without_tactics_does_not_rematch_a_close_loss(
    ladder: Callable[..., Evaluation],
) -> None:
    ev = ladder()
    assert _finish_next(ev, 2, 3) == "greedy"
    assert _next_opponent(ev) == "survivor"


def test_the_ladder_without_tactics_does_not_climb_after_a_win(
    ladder: Callable[..., Evaluation],
) -> None:
    ev = ladder()
    assert _finish_next(ev, 5, 1) == "greedy"
    assert _next_opponent(ev) != "random"  # far above: a poor match by quality


def test_an_unknown_tactic_is_refused_in_one_line(
    store: Settings, run: Invoke, one_line_error: Callable[..., None]
) -> None:
    result = run("evaluate", "greedy", "--sync", "--tactic", "bluff")
    one_line_error(result, "tactic must be one of price-band, rematch, climb", "'bluff'")
    assert Evaluation.select().count() == 0


def test_evaluate_plays_a_whole_ladder_with_every_tactic(store: Settings, run: Invoke) -> None:
    result = run("evaluate", "greedy", "--games", "3", "--sync", "--max-rounds", "20",
                 "--tactic", "price-band", "--tactic", "rematch", "--tactic", "climb")  # fmt: skip
    assert result.exit_code == 0, result.output
    (ev,) = Evaluation.select()
    assert ev.status == "finished"
    assert Batch.get_by_id(ev.batch_id).params["tactics"] == ["price-band", "rematch", "climb"]
