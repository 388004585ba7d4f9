"""choose_opponent: pure, deterministic, closest in rating weighted by uncertainty."""

from __future__ import annotations

from dataclasses import dataclass

from snakebench.services.evaluation import choose_opponent, match_quality


@dataclass(frozen=True)
class M:
    name: str
    trueskill_mu: float = 25.0
    trueskill_sigma: float = 25.0 / 3
    test_status: str = "ranked"
    is_active: bool = True
    games_played: int = 10


NEW = M("new", test_status="testing", games_played=0)


def test_the_closest_rating_wins() -> None:
    pool = [M("far", 40.0, 2.0), M("near", 26.0, 2.0), M("low", 10.0, 2.0)]
    assert choose_opponent(NEW, pool, {}) == pool[1]


def test_an_uncertain_rating_tells_less_than_a_sure_one_at_the_same_distance() -> None:
    sure, unsure = M("b-sure", 27.0, 1.0), M("a-unsure", 27.0, 8.0)
    assert match_quality(NEW, sure) > match_quality(NEW, unsure)
    assert choose_opponent(NEW, [unsure, sure], {}) == sure


def test_ties_go_to_the_first_name_and_order_of_the_pool_does_not_matter() -> None:
    pool = [M("zeta"), M("alpha"), M("mid")]
    assert choose_opponent(NEW, pool, {}).name == "alpha"  # type: ignore[union-attr]
    assert choose_opponent(NEW, list(reversed(pool)), {}).name == "alpha"  # type: ignore[union-attr]


def test_an_opponent_played_twice_is_capped_while_others_remain() -> None:
    pool = [M("best", 25.0, 2.0), M("second", 30.0, 2.0)]
    assert choose_opponent(NEW, pool, {"best": 1}) == pool[0]
    assert choose_opponent(NEW, pool, {"best": 2}) == pool[1]
    # all capped: the least played come back, best quality first
    assert choose_opponent(NEW, pool, {"best": 2, "second": 3}) == pool[0]
    assert choose_opponent(NEW, pool, {"best": 3, "second": 2}) == pool[1]


def test_rated_models_first_whatever_their_test_status_never_itself_or_inactive() -> None:
    ranked, bot = M("ranked", 40.0), M("greedy", 25.0, test_status="untested", games_played=0)
    rated_bot = M("survivor", 40.0, test_status="untested")  # rated by tournaments
    other = M("other", 25.0, test_status="testing", games_played=0)
    gone = M("gone", 25.0, is_active=False)
    retired = M("old", 25.0, test_status="retired")
    pool = [NEW, ranked, bot, other, gone, retired]
    assert choose_opponent(NEW, pool, {}) == ranked
    assert choose_opponent(NEW, [*pool, rated_bot], {}) == ranked  # tie: first name
    assert choose_opponent(NEW, [NEW, bot, rated_bot, other], {}) == rated_bot
    assert choose_opponent(NEW, [NEW, bot, other, gone], {}).name == "greedy"  # type: ignore[union-attr]
    assert choose_opponent(NEW, [NEW, other, gone, retired], {}) == other
    assert choose_opponent(NEW, [NEW, gone, retired], {}) is None


def test_one_rated_model_does_not_break_the_cap() -> None:
    """Review finding: with tiers by test_status, one ranked model took every game of
    the ladder while untested bots (or tournament-rated ones) waited."""
    ranked = M("ranked", 25.0, 2.0)
    bots = [M(name, test_status="untested", games_played=0) for name in ("greedy", "random")]
    pool = [NEW, ranked, *bots]
    history: dict[str, int] = {}
    for _ in range(6):
        pick = choose_opponent(NEW, pool, history)
        assert pick is not None
        history[pick.name] = history.get(pick.name, 0) + 1
    assert history == {"ranked": 2, "greedy": 2, "random": 2}
    # all capped: the least played come back (the cap is only broken then)
    assert choose_opponent(NEW, pool, {**history, "ranked": 3}) in bots
