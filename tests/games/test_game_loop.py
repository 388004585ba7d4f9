"""The game loop: concurrency of remote players, and how failures end a game."""

from __future__ import annotations

import threading
import time

import pytest

from snakebench.engine import Direction, Rules
from snakebench.games.loop import GameHooks, GameSetup, at_home, at_home_later, play_game
from snakebench.players import InfrastructureError, MoveDecision, Turn, make_bot

SETUP = GameSetup("g", Rules(max_rounds=6), 3, {"0": "a", "1": "b"})


class RendezvousPlayer:
    """A remote player that can only move once the other one is asking too: if the
    loop asked them one after the other, the barrier would break."""

    remote = True

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        self.name = name
        self.barrier = barrier
        self.bot = make_bot("survivor", 1)

    def choose(self, turn: Turn) -> MoveDecision:
        self.barrier.wait()
        return self.bot.choose(turn)


def test_remote_players_are_asked_at_the_same_time() -> None:
    barrier = threading.Barrier(2, timeout=10)
    players = {"0": RendezvousPlayer("a", barrier), "1": RendezvousPlayer("b", barrier)}
    outcome = play_game(SETUP, players)
    assert outcome.status == "completed", outcome.error
    assert outcome.state.round >= 1


class ErrandPlayer:
    """A remote player that sends errands home: where they ran, and one that fails."""

    remote = True

    def __init__(self, name: str, ran_on: list[threading.Thread]) -> None:
        self.name = name
        self.ran_on = ran_on
        self.bot = make_bot("survivor", 1)

    def choose(self, turn: Turn) -> MoveDecision:
        self.ran_on.append(at_home(threading.current_thread))
        if turn.state.round == 3 and self.name == "b":
            at_home(lambda: {}["budget"])  # an errand's error is the move's
        return self.bot.choose(turn)


def test_move_threads_errands_run_on_the_games_own_thread() -> None:
    """Database work a move needs uses the game's connection, not one per move thread."""
    ran_on: list[threading.Thread] = []
    players = {"0": ErrandPlayer("a", ran_on), "1": ErrandPlayer("b", ran_on)}
    outcome = play_game(SETUP, players)
    assert outcome.status == "failed" and outcome.error == "KeyError: 'budget'"
    assert len(ran_on) == 8 and set(ran_on) == {threading.current_thread()}  # 4 moves each
    assert at_home(lambda: 7) == 7  # outside a game's move: right here


class LaterErrandPlayer:
    """A remote player that sends an errand home each move without waiting for it (a
    call's settlement), the one of round 3 failing; each errand records its move and
    the thread it ran on."""

    remote = True

    def __init__(self, name: str, log: list[tuple[str, int, str]]) -> None:
        self.name = name
        self.log = log
        self.bot = make_bot("survivor", 1)

    def choose(self, turn: Turn) -> MoveDecision:
        ran = threading.Event()
        round_ = turn.state.round

        def errand() -> None:
            ran.wait(timeout=5)  # the move has gone on without it
            self.log.append((self.name, round_, threading.current_thread().name))
            if round_ == 3 and self.name == "b":
                raise KeyError("settlement")

        at_home_later(errand)
        ran.set()
        return self.bot.choose(turn)


def test_errands_sent_home_for_later_run_on_the_games_thread_within_their_round() -> None:
    log: list[tuple[str, int, str]] = []
    rounds: list[int] = []
    outcome = play_game(
        SETUP,
        {"0": LaterErrandPlayer("a", log), "1": LaterErrandPlayer("b", log)},
        on_round=lambda state, moves: rounds.append(len(log)),
    )
    # The failing errand loses its round (3): the game ends failed after rounds 0-2.
    assert outcome.status == "failed" and outcome.error == "KeyError: 'settlement'"
    assert len(outcome.replay["frames"]) == 3
    # Each round ended only after both of its errands ran, all on the game's thread.
    assert rounds == [2, 4, 6]
    assert sorted((name, round_) for name, round_, _ in log) == [
        (name, round_) for name in "ab" for round_ in range(4)
    ]
    assert {thread for _, _, thread in log} == {threading.current_thread().name}
    done: list[int] = []
    at_home_later(lambda: done.append(1))  # outside a game's move: right here
    assert done == [1]


class Stop(BaseException):
    """What a stopped job raises on the game's thread (SystemExit, KeyboardInterrupt)."""


def test_an_errand_the_game_stopped_before_taking_still_runs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A move sends its settlement home just as the game's thread is stopped mid-round:
    the errand still runs, exactly once, before the game is left, and its failure,
    which nobody waits for, is logged."""
    asked, ran = threading.Event(), []

    def settle(round_: int) -> None:
        ran.append(round_)
        raise KeyError("ledger")

    class Late:
        remote, name = True, "late"

        def choose(self, turn: Turn) -> MoveDecision:
            asked.wait(timeout=5)
            at_home_later(lambda: settle(turn.state.round))
            return MoveDecision(Direction.UP)

    def stop(snake_id: str, decision: MoveDecision) -> None:
        if snake_id == "1":
            asked.set()
            time.sleep(0.2)  # the other move sends its errand home meanwhile
            raise Stop

    players = {"0": Late(), "1": make_bot("survivor", 1)}  # both asked on move threads
    with pytest.raises(Stop):
        play_game(SETUP, players, GameHooks(on_move=stop))
    assert ran == [0]
    [record] = [r for r in caplog.records if "an errand left" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is KeyError


class FailingPlayer:
    remote = False

    def __init__(self, error: Exception, after: int = 2) -> None:
        self.name = "failing"
        self.error = error
        self.after = after

    def choose(self, turn: Turn) -> MoveDecision:
        if turn.state.round >= self.after:
            raise self.error
        return MoveDecision(Direction.UP if turn.state.round % 2 else Direction.DOWN)


def test_infrastructure_failure_voids_the_game_and_keeps_what_was_played() -> None:
    player = FailingPlayer(InfrastructureError("provider down (gave up after 4 attempts)"))
    outcome = play_game(SETUP, {"0": player, "1": make_bot("survivor", 3)})
    assert outcome.status == "void"
    assert outcome.error == "provider down (gave up after 4 attempts)"
    assert outcome.state.results is None
    assert len(outcome.replay["frames"]) == 2
    assert outcome.replay["game"]["status"] == "void"


def test_any_other_error_fails_the_game_with_the_error_kept() -> None:
    outcome = play_game(SETUP, {"0": FailingPlayer(KeyError("board")), "1": make_bot("random")})
    assert outcome.status == "failed"
    assert outcome.error == "KeyError: 'board'"


def test_the_round_hook_sees_every_round() -> None:
    seen: list[int] = []
    outcome = play_game(
        SETUP,
        {"0": make_bot("greedy", 3), "1": make_bot("random", 3)},
        on_round=lambda state, moves: seen.append(state.round),
    )
    assert seen == list(range(1, outcome.state.round + 1))


class PaidRemotePlayer:
    remote = True

    def __init__(self, fail: bool) -> None:
        self.name = "paid"
        self.fail = fail

    def choose(self, turn: Turn) -> MoveDecision:
        if self.fail and turn.state.round == 1:
            raise InfrastructureError("provider down")
        return MoveDecision(Direction.UP, cost=0.25, input_tokens=100, output_tokens=10)


def test_a_void_round_still_counts_what_the_other_model_cost() -> None:
    setup = GameSetup("g", Rules(max_rounds=6), 3, {"0": "a", "1": "b"})
    players = {"0": PaidRemotePlayer(fail=True), "1": PaidRemotePlayer(fail=False)}
    outcome = play_game(setup, players)
    assert outcome.status == "void"
    # Round 0 was played by both; in round 1 only snake 1's call came back, and was paid.
    assert outcome.stats["1"].cost == 0.5 and outcome.stats["1"].moves == 2
    assert outcome.stats["0"].cost == 0.25
    assert outcome.total_cost == 0.75
