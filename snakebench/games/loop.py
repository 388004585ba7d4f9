"""The game loop: ask every player for a move, step the engine, record the round.

This is the adapter between pure rules and players that do I/O. It knows nothing
about the database, Redis or files: it returns a :class:`GameOutcome` holding the
final state, the replay document and per-player figures, and the caller stores
them (see :mod:`snakebench.games.simulation`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any, Generic, Literal, TypeVar

from snakebench.engine import GameState, Rules, SeededSpawner, forfeit, new_game, step
from snakebench.engine.replay import ReplayBuilder
from snakebench.players.base import (
    BudgetExceeded,
    InfrastructureError,
    MoveDecision,
    Player,
    Turn,
)

log = logging.getLogger(__name__)

GameStatus = Literal["completed", "void", "failed", "cancelled"]
RoundHook = Callable[[GameState, Mapping[str, MoveDecision]], None]
RoundStartHook = Callable[[GameState], None]  # the state the round's moves are asked for
MoveHook = Callable[[str, MoveDecision], None]  # one snake's move, as it comes back
T = TypeVar("T")


@dataclass(frozen=True)
class GameHooks:
    """What a game tells its watchers, each on the game's own thread: a round about to
    be asked for (``on_round_start``), each snake's move as it comes back, before the
    round is played (``on_move``), and each round played (``on_round``)."""

    on_round: RoundHook | None = None
    on_round_start: RoundStartHook | None = None
    on_move: MoveHook | None = None


@dataclass
class PlayerStats:
    """What one snake's moves cost and how well-formed they were."""

    moves: int = 0
    invalid_moves: int = 0
    fallback_parses: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0  # of output_tokens
    cost: float = 0.0
    # What the provider reported the calls cost; None while no move's call reported it.
    provider_cost: float | None = None
    latency_ms: float = 0.0
    wait_ms: float = 0.0

    def add(self, decision: MoveDecision) -> None:
        self.moves += 1
        self.invalid_moves += decision.invalid
        self.fallback_parses += decision.parse == "fallback"
        self.retries += decision.retries
        self.input_tokens += decision.input_tokens
        self.output_tokens += decision.output_tokens
        self.reasoning_tokens += decision.reasoning_tokens
        self.cost += decision.cost
        if decision.provider_cost is not None:
            self.provider_cost = (self.provider_cost or 0.0) + decision.provider_cost
        self.latency_ms += decision.latency_ms
        self.wait_ms += decision.wait_ms


@dataclass
class GameOutcome:
    status: GameStatus
    state: GameState
    replay: dict[str, Any]
    stats: dict[str, PlayerStats]
    error: str | None = None

    @property
    def total_cost(self) -> float:
        return sum(s.cost for s in self.stats.values())


@dataclass
class GameSetup:
    """Everything that fixes a game before its first move."""

    game_id: str
    rules: Rules
    seed: int
    names: dict[str, str]  # snake id -> model name, for the replay
    game_type: str = "ladder"
    model_ids: dict[str, str] = field(default_factory=dict)
    # snake id -> what the replay records of its prompt ({"prompt_variant", "prompt_sha"});
    # none for a bot
    prompts: dict[str, dict[str, str]] = field(default_factory=dict)


class RunSuperseded(Exception):
    """This run of the game is no longer the game's (see ``keep_playing``)."""


def play_game(
    setup: GameSetup,
    players: Mapping[str, Player],
    on_round: RoundHook | GameHooks | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    keep_playing: Callable[[], bool] | None = None,
    stopped: threading.Event | None = None,
    not_results: tuple[type[Exception], ...] = (),
) -> GameOutcome:
    """Play a whole game. Never raises for a player's failure: a provider outage
    gives ``void``, a spending cap that refused a call ``cancelled``, any other error
    ``failed``, each with the reason kept.

    ``keep_playing`` is asked before every round that calls a provider (never for bots,
    which spend nothing): once it says no, :class:`RunSuperseded` is raised and no more
    moves are asked for. ``stopped`` is set when the game stops asking, however it ends
    (a move still waiting for a provider slot then gives up instead of sending a request
    for a game that is over). ``not_results``: the caller's errors that say nothing of
    the game (its database gone, raised by ``keep_playing`` or a player's meter): raised
    as they are, not turned into a ``failed`` game, so that the run is tried again.

    ``on_round`` is the round hook, or :class:`GameHooks` for more."""
    hooks = on_round if isinstance(on_round, GameHooks) else GameHooks(on_round=on_round)
    remote = any(player.remote for player in players.values())
    ask = keep_playing if remote else None
    state = new_game(setup.rules, setup.seed, tuple(players))
    builder = ReplayBuilder(
        game_id=setup.game_id,
        rules=setup.rules,
        players={
            sid: {
                "model_id": setup.model_ids.get(sid, sid),
                "name": setup.names[sid],
                **setup.prompts.get(sid, {}),
            }
            for sid in players
        },
        initial=state,
        started_at=clock(),
        game_type=setup.game_type,
        seed=setup.seed,
    )
    stats = {sid: PlayerStats() for sid in players}
    status: GameStatus = "completed"
    error = None
    spawn = SeededSpawner(setup.seed)
    with _MoveGatherer(players, stopped, hooks.on_move) as gather:
        try:
            while not state.over:
                if ask is not None and not ask():
                    raise RunSuperseded(setup.game_id)
                if hooks.on_round_start:
                    hooks.on_round_start(state)
                decisions = gather(state, setup.rules)
                state = _advance(state, decisions, setup.rules, spawn)
                for sid, decision in decisions.items():
                    stats[sid].add(decision)
                builder.add_round({sid: d.record() for sid, d in decisions.items()}, state)
                if hooks.on_round:
                    hooks.on_round(state, decisions)
        except RunSuperseded:
            raise
        except not_results:
            raise
        except _RoundLost as lost:
            if isinstance(lost.cause, (RunSuperseded, *not_results)):  # an overtaken run, a DB gone
                raise lost.cause from None
            # The moves that did come back were paid for, though never played.
            for sid, decision in lost.completed.items():
                stats[sid].add(decision)
            status, error = _classify(setup.game_id, lost.cause)
        except Exception as exc:
            status, error = _classify(setup.game_id, exc)
    replay = builder.build(state, clock(), status, error)
    return GameOutcome(status, state, replay, stats, error)


def _classify(game_id: str, exc: BaseException) -> tuple[GameStatus, str]:
    """An outage voids the game, a spent budget cancels it; anything else is a failure
    (our bug or bad data)."""
    if isinstance(exc, InfrastructureError):
        return "void", str(exc)
    if isinstance(exc, BudgetExceeded):  # logged where the call was refused, and at the end
        return "cancelled", str(exc)
    log.error("game %s failed", game_id, exc_info=exc)
    return "failed", f"{type(exc).__name__}: {exc}"


class _RoundLost(Exception):
    """A player's move failed; carries the moves the other players had returned."""

    def __init__(self, cause: Exception, completed: dict[str, MoveDecision]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.completed = completed


def _advance(
    state: GameState, decisions: Mapping[str, MoveDecision], rules: Rules, spawn: SeededSpawner
) -> GameState:
    quitters = [sid for sid, d in decisions.items() if d.forfeit]
    if quitters:
        return forfeit(state, quitters)
    return step(state, {sid: d.move for sid, d in decisions.items()}, rules, spawn)


_home = threading.local()


def at_home(errand: Callable[[], T]) -> T:
    """``errand()`` run on the thread that plays the game, when called from one of its
    move threads (else right here), and its result.

    Database work a move needs (the spend ledger) so uses the game's own connection:
    peewee opens one connection per thread, and two move threads per game would triple
    the connections a worker holds (64 games on PostgreSQL's default 100)."""
    runner: Callable[[Callable[[], T]], T] | None = getattr(_home, "runner", None)
    return runner(errand) if runner is not None else errand()


def at_home_later(errand: Callable[[], None]) -> None:
    """:func:`at_home` for an errand whose caller needs nothing back (a call's
    settlement): it is queued for the game's thread, which runs it before it counts the
    caller's move as ended, and the caller goes on at once. An error it raises loses
    the round, as an error of the move's own would.

    Why not wait: on a machine whose cores are busy every hand-off between threads
    waits for a core, a few milliseconds each; a move that waited for its settlement
    paid two of them before its round could end."""
    runner: Callable[[Callable[[], None]], None] | None = getattr(_home, "later", None)
    if runner is not None:
        runner(errand)
    else:
        errand()


class _MoveGatherer:
    """Asks every alive snake for its move. Remote players (LLMs) are asked at the
    same time on a thread pool, as the original does, so a round costs the slower
    reply rather than the sum of both. While they are out, the game's thread runs the
    errands they send home (:func:`at_home`)."""

    def __init__(
        self,
        players: Mapping[str, Player],
        stopped: threading.Event | None,
        on_move: MoveHook | None = None,
    ) -> None:
        self.players = players
        self.stopped = stopped
        self.on_move = on_move
        remote = any(p.remote for p in players.values())
        self.pool = ThreadPoolExecutor(len(players), "move") if remote else None
        # Errands from move threads, and a _MoveEnded each time a move ends.
        self.inbox: SimpleQueue[_Errand[Any] | _MoveEnded] = SimpleQueue()
        self.serving = True  # False once the game's thread stops (the game is over)
        self.door = threading.Lock()  # guards ``serving`` and every errand's claim
        # This round's errands nobody waits for (at_home_later): their errors lose it.
        self.unwaited: list[_Errand[None]] = []

    def __enter__(self) -> _MoveGatherer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()
        if self.pool:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self._run_left_behind()

    def __call__(self, state: GameState, rules: Rules) -> dict[str, MoveDecision]:
        alive = state.alive_ids()
        if self.pool is None:
            decisions = {}
            for sid in alive:
                decisions[sid] = self.players[sid].choose(Turn(sid, state, rules))
                self._moved(_MoveEnded(sid, decisions[sid]))
            return decisions
        futures = {
            sid: self.pool.submit(self._away, self.players[sid].choose, Turn(sid, state, rules))
            for sid in alive
        }
        self._serve(len(futures))  # every call ends with its round, even when one fails
        # Each move's errands were queued before its end, so all of them have run.
        unwaited, self.unwaited = self.unwaited, []
        failed = [f.exception() for f in futures.values() if f.exception() is not None]
        failed += [e.done.exception() for e in unwaited if e.done.exception() is not None]
        if failed:
            completed = {sid: f.result() for sid, f in futures.items() if f.exception() is None}
            raise _RoundLost(failed[0], completed)  # type: ignore[arg-type]
        return {sid: future.result() for sid, future in futures.items()}

    def _away(self, choose: Callable[[Turn], MoveDecision], turn: Turn) -> MoveDecision:
        """One move, on a move thread whose :func:`at_home` errands go to the game's."""
        _home.runner, _home.later = self._send_home, self._send_home_later
        decision = None
        try:
            decision = choose(turn)
            return decision
        finally:
            _home.runner = _home.later = None
            self.inbox.put(_MoveEnded(turn.snake_id, decision))

    def _moved(self, ended: _MoveEnded) -> None:
        """Tell ``on_move``; a watcher's failure is logged, never the game's (the other
        moves of the round are still to be collected)."""
        if self.on_move is None or ended.decision is None:
            return
        try:
            self.on_move(ended.snake_id, ended.decision)
        except Exception:
            log.exception("on_move hook failed for snake %s", ended.snake_id)

    def _post(self, errand: _Errand[Any], *, waited: bool = True) -> bool:
        """Queue ``errand`` for the game's thread, if it still serves; whether it does
        (once the game stopped mid-round nobody is at home: the sender runs it)."""
        with self.door:
            if self.serving:
                if not waited:
                    self.unwaited.append(errand)
                self.inbox.put(errand)
            return self.serving

    def _send_home(self, work: Callable[[], T]) -> T:
        errand = _Errand(work)
        if not self._post(errand):
            return work()
        while True:
            try:
                return errand.done.result(timeout=ERRAND_PATIENCE)
            except FuturesTimeout:
                # A game stopped mid-round (Ctrl+C, SIGTERM, a stopped job) no longer
                # serves: an errand it never took (settling an answered call) runs here.
                if not self.serving and self._claim(errand):
                    errand.run()

    def _send_home_later(self, work: Callable[[], None]) -> None:
        if not self._post(_Errand(work), waited=False):
            work()

    def _run_left_behind(self) -> None:
        """Run what moves sent home that the game stopped before taking (it stopped
        mid-round): every move has ended, so nothing else touches what they change."""
        while not self.inbox.empty():
            item = self.inbox.get()
            if isinstance(item, _Errand) and self._claim(item):
                item.run()
                failure = item.done.exception()
                if failure is not None:  # nobody waits for it: said here, or never
                    log.error("an errand left when the game stopped failed", exc_info=failure)

    def _serve(self, moves: int) -> None:
        """Run errands as they come until ``moves`` moves have ended."""
        while moves:
            item = self.inbox.get()
            if isinstance(item, _MoveEnded):
                moves -= 1
                self._moved(item)
            elif self._claim(item):
                item.run()

    def _close(self) -> None:
        """Stop serving; what was sent home and not taken, its senders run. Moves still
        out are told (``stopped``) before the pool waits for them."""
        with self.door:
            self.serving = False
        if self.stopped is not None:
            self.stopped.set()

    def _claim(self, errand: _Errand[Any]) -> bool:
        """Whether the caller is the one to run ``errand`` (each runs exactly once: the
        game's thread, or its sender once the game stopped serving)."""
        with self.door:
            if errand.claimed:
                return False
            errand.claimed = True
            return True


# Seconds a move thread waits on an errand before checking the game still serves.
ERRAND_PATIENCE = 0.5


@dataclass(frozen=True)
class _MoveEnded:
    """A move thread's last word: its snake's move, None when choosing it failed."""

    snake_id: str
    decision: MoveDecision | None


class _Errand(Generic[T]):
    """Work a move thread sends to the game's thread, and its result."""

    def __init__(self, work: Callable[[], T]) -> None:
        self.work = work
        self.done: Future[T] = Future()
        self.claimed = False

    def run(self) -> None:
        try:
            self.done.set_result(self.work())
        except Exception as exc:  # the sender re-raises it as its own
            self.done.set_exception(exc)
        except BaseException as exc:  # Ctrl+C, SIGTERM, a stopped job: the game stops
            self.done.set_exception(exc)
            raise
