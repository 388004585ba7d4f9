"""Worker CPU per LLM round, part by part: what one round of a game between two language
models costs the worker process, each part timed alone in one thread.

    python scripts/bench_round.py [--rounds 100] [--repeat 5]

On the worker, one round of an LLM v LLM game is: two prompts written, two SDK calls
(the request built, sent over HTTP, the reply parsed), two replies read into moves, two
spend-ledger rows written (each checking the run's fence) and settled, the engine's step
and the replay frame, three live-board updates (the round's start, each move as it comes
back; documents built and sent only while someone watches) and the hand-offs between the
game's thread and its two move threads. Each part runs ``--rounds`` times in a turn, the
parts taking turns ``--repeat`` times, and the least turn of each is kept; it is timed in
CPU seconds of this process (``time.process_time``): other load on a shared machine slows
it much less than wall time. The fake provider (``snakebench fake-llm`` as bench_spend.py
starts it: no added latency) runs in a process of its own; its CPU is not counted.

The SDK call is timed three ways: through the SDK's ``chat.completions.create`` (how every
move was made first, the baseline), through the SDK client's ``post`` with the model's
request built once (the step after), and as ``OpenAICompatClient.complete`` makes it now
(that request posted over the lean keep-alive path, ``providers/chat_transport.py``).
The whole round, in real games and under contention, is ``scripts/bench_scale.py``'s
"worker CPU ms/round" column: this script says where it goes. It uses a temporary
SQLite database and a Redis database of 127.0.0.1:6379 (claimed, flushed).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import redis
from bench_spend import fake_llm
from benchlib import host_speed, table

from snakebench.config import Settings
from snakebench.engine import Direction, Rules, SeededSpawner, new_game, step
from snakebench.engine.replay import ReplayBuilder
from snakebench.games.live import LivePublisher
from snakebench.games.loop import _MoveGatherer, at_home, at_home_later
from snakebench.games.simulation import run_stored_game
from snakebench.players.base import MoveDecision, Turn
from snakebench.players.bots import bot_move
from snakebench.players.llm import LLMPlayer
from snakebench.providers import ModelSpec, RetryPolicy
from snakebench.providers.base import Completion
from snakebench.providers.chat_request import reply_document
from snakebench.providers.chat_transport import SdkPost
from snakebench.providers.openai_compat import OpenAICompatClient
from snakebench.providers.sdk_common import billed_tokens, reported_cost, usage_count
from snakebench.services.batches import BatchSpec, create_batch_games
from snakebench.store import (
    Settlement,
    batch_game_ids,
    create_game,
    mark_running,
    open_fenced_call,
    open_store,
    settle_call,
    upsert_model,
)
from snakebench.testing.support import bench_redis

BIN = Path(sys.executable).parent
# What scripts/bench_scale.py measured a round at before this work, in real games:
# ThreadWorker, 4 processes, 64 and 128 games (docs/PERFORMANCE.md, part 2).
BASELINE_ROUND_MS = 4.6


def least_cpu_ms(
    parts: dict[str, Callable[[], object]], rounds: int, repeat: int
) -> dict[str, float]:
    """CPU milliseconds of one call of each part: the least of ``repeat`` runs of
    ``rounds`` calls, the parts taking turns so that a burst of other load on the machine
    lands on all of them alike."""
    for work in parts.values():
        work()  # warm: connections, caches
    best = dict.fromkeys(parts, float("inf"))
    for _ in range(repeat):
        for name, work in parts.items():
            start = time.process_time()
            for _ in range(rounds):
                work()
            best[name] = min(best[name], (time.process_time() - start) / rounds * 1000)
    return best


class Parts:
    """One game's worth of everything a round touches, built once."""

    def __init__(self, url: str, tmp: Path, redis_url: str) -> None:
        self.rules = Rules(max_rounds=100)
        self.state = new_game(self.rules, 7, ("0", "1"))
        self.spawn = SeededSpawner(7)
        for _ in range(10):  # a board some rounds in: longer snakes, scores
            self.state = step(self.state, self.moves(), self.rules, self.spawn)
        self.turns = [Turn(sid, self.state, self.rules) for sid in ("0", "1")]
        self.next_moves = self.moves()
        spec = ModelSpec("fake-a", "openai", "fake-a", f"{url}/v1", price_input_per_m=1.0)
        self.client = OpenAICompatClient(spec, spec.base_url, "sk-bench", 30.0)
        self.sdk_post = SdkPost(self.client._sdk, self.client._request.options)
        self.player = LLMPlayer(
            spec, self.client, seed=7, retry=RetryPolicy(1, 0.0, 0.0), sleep=lambda _: None
        )
        self.prompts = [
            self.player.prompt.render(turn, "UP", "Up is safe.\nUP") for turn in self.turns
        ]
        self.completion = self.client.complete(self.prompts[0])
        settings = Settings(database_url=f"sqlite:///{tmp / 'round.db'}", redis_url=redis_url)
        open_store(settings)
        model = upsert_model(
            "fake-a", provider="openai", model_slug="fake-a", base_url=spec.base_url
        )
        game = create_game(seed=7, players=("fake-a", "fake-a"))
        self.game = mark_running(game.id, "bench")
        self.model_id = int(model.id)
        self.settling: Settlement | None = None  # the ledger's call kept for the next booking
        self.builder = ReplayBuilder(
            game_id=game.id,
            rules=self.rules,
            players={sid: {"model_id": "1", "name": "fake-a"} for sid in ("0", "1")},
            initial=self.state,
            started_at=datetime.now(UTC),
            game_type="ladder",
            seed=7,
        )
        self.live = LivePublisher(redis.Redis.from_url(redis_url), game.id, remote=True)
        self.decisions = {
            sid: self.player._decide(turn, self.completion, 300.0, 0)
            for sid, turn in zip(("0", "1"), self.turns, strict=True)
        }

    def moves(self) -> dict[str, Direction]:
        return {sid: bot_move("survivor", self.state, self.rules, sid, 7) for sid in ("0", "1")}

    def prompts_x2(self) -> None:
        for turn in self.turns:
            self.player.prompt.render(turn, "UP", "Up is safe.\nUP")

    def sdk_create_x2(self) -> None:
        """The move as the SDK's ``create`` made it, into its ``ChatCompletion`` (the
        baseline; reading five fields off that cost next to nothing)."""
        for prompt in self.prompts:
            messages = [{"role": "user", "content": prompt}]
            self.client._create(self.client._sdk.chat.completions.create, messages=messages)

    def sdk_post_x2(self) -> None:
        """The move as ``complete`` made it before the lean path: the request built once,
        posted through the SDK client's ``post``, the reply's JSON read."""
        for prompt in self.prompts:
            body = self.client._request.body("fake-a", prompt)
            self.client._completion(reply_document(self.sdk_post.post(body)))

    def sdk_complete_x2(self) -> None:
        for prompt in self.prompts:
            self.client.complete(prompt)

    def replies_x2(self) -> None:
        for turn in self.turns:
            self.player._decide(turn, self.completion, 300.0, 0)

    def _book(self, settling: Settlement | None = None) -> int:
        call = open_fenced_call(game_id=self.game.id, attempt=self.game.attempt,
                                batch_id=None, model_id=self.model_id, day="2026-01-01",
                                reserved=0.01, settling=settling)  # fmt: skip
        assert call is not None  # the bench's game is running, its run current
        return call

    def ledger_before_x2(self) -> None:
        """Each call's row booked (fenced), then settled: two statements a call."""
        for _ in self.turns:
            call = self._book()
            settle_call(call, status="answered", input_tokens=700, output_tokens=20, cost=0.001)

    def ledger_x2(self) -> None:
        """Each call's row booked by the statement settling the player's call before:
        one statement a call (the game's first call and last settlement aside)."""
        for _ in self.turns:
            self.settling = Settlement(self._book(self.settling), "2026-01-01", 0.01,
                                       "answered", 700, 20, 0.001)  # fmt: skip

    def engine_and_replay(self) -> None:
        state = step(self.state, self.next_moves, self.rules, self.spawn)
        self.builder.add_round({sid: d.record() for sid, d in self.decisions.items()}, state)

    def live_board_x3(self) -> None:
        self.live.round_started(self.state)
        for sid, decision in self.decisions.items():
            self.live.moved(sid, decision)

    def hand_offs(self, gather: _MoveGatherer) -> None:
        gather(self.state, self.rules)


class Errands:
    """A remote player whose move is nothing but what the loop does around a real one:
    two errands sent home (the ledger's reserve, waited for, and settle, not), then the
    decision."""

    remote = True
    name = "errands"

    def __init__(self, decision: MoveDecision) -> None:
        self.decision = decision

    def choose(self, turn: Turn) -> MoveDecision:
        at_home(lambda: 0)
        at_home_later(lambda: None)
        return self.decision


SDK_BEFORE, SDK_POST, SDK_NOW = (
    "SDK calls (2), through create()",
    "SDK calls (2), through the SDK's post()",
    "SDK calls (2)",
)
LEDGER_BEFORE, LEDGER_NOW = "spend ledger, before", "spend ledger: fenced rows, settlements (2)"


def measure(parts: Parts, rounds: int, repeat: int) -> tuple[list[tuple[str, float, float]], float]:
    """(part, before ms, now ms) per round; the SDK calls through the SDK's ``post``."""
    players = {sid: Errands(d) for sid, d in parts.decisions.items()}
    with _MoveGatherer(players, threading.Event()) as gather:
        ms = least_cpu_ms(
            {
                SDK_BEFORE: parts.sdk_create_x2,
                SDK_POST: parts.sdk_post_x2,
                SDK_NOW: parts.sdk_complete_x2,
                "prompts (2)": parts.prompts_x2,
                "replies read into moves (2)": parts.replies_x2,
                LEDGER_BEFORE: parts.ledger_before_x2,
                LEDGER_NOW: parts.ledger_x2,
                "engine step + replay frame": parts.engine_and_replay,
                "live board, nobody watching (3 updates)": parts.live_board_x3,
                "thread hand-offs: 2 moves, 4 errands": lambda: parts.hand_offs(gather),
            },
            rounds,
            repeat,
        )
    post = ms.pop(SDK_POST)
    rows = [(SDK_NOW, ms.pop(SDK_BEFORE), ms.pop(SDK_NOW))]
    rows += [(LEDGER_NOW, ms.pop(LEDGER_BEFORE), ms.pop(LEDGER_NOW))]
    return rows + [(name, value, value) for name, value in ms.items()], post


def legacy_complete(client: OpenAICompatClient, prompt: str) -> Completion:
    """A move as ``OpenAICompatClient.complete`` made it before (the baseline of the whole
    games): the SDK's ``create``, its ``ChatCompletion`` read."""
    messages = [{"role": "user", "content": prompt}]
    reply = client._create(client._sdk.chat.completions.create, messages=messages)
    usage = reply.usage
    tokens_in, tokens_out = billed_tokens(usage, "prompt_tokens", "completion_tokens")
    return Completion(
        reply.choices[0].message.content or "",
        tokens_in,
        tokens_out,
        reasoning_tokens=usage_count(usage, "completion_tokens_details", "reasoning_tokens"),
        provider_cost=reported_cost(usage),
        truncated=reply.choices[0].finish_reason == "length",
    )


def whole_games(
    url: str, tmp: Path, redis_url: str, games: int, repeat: int
) -> dict[str, tuple[float, float]]:
    """CPU ms per round of whole LLM v LLM games (``run_stored_game``: the database, the
    live board, the ledger; one game at a time, its two moves on its move threads), and
    the part of it spent collecting garbage: the moves made before's way and now's, and
    now's after ``gc.freeze()`` (as ThreadWorker does once at its start), taking turns.
    The least turn of each; the collections' share over all turns (a full collection
    comes once in a few hundred rounds, so the least turn may have none)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'games.db'}", redis_url=redis_url, replay_dir=tmp / "r"
    )
    open_store(settings)
    for name in ("fake-a", "fake-b"):
        upsert_model(name, provider="openai-compatible", model_slug=name, base_url=f"{url}/v1")
    live = redis.Redis.from_url(redis_url)
    now = OpenAICompatClient.complete
    variants = ("before", "now", "now, gc.freeze()")
    best = dict.fromkeys(variants, float("inf"))
    collected = dict.fromkeys(variants, (0.0, 0))  # CPU seconds collecting, rounds
    collecting = [0.0, 0.0]  # CPU seconds in collections; the current one's start

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[1] = time.process_time()
        else:
            collecting[0] += time.process_time() - collecting[1]

    gc.callbacks.append(timed)
    for turn in range(repeat):
        for variant in best:
            OpenAICompatClient.complete = legacy_complete if variant == "before" else now  # type: ignore[method-assign]
            spec = BatchSpec("fake-a", "fake-b", count=games, max_rounds=100, seed=turn)
            batch = create_batch_games(spec, settings)
            if variant.endswith("freeze()"):
                gc.freeze()
            start, rounds, collecting[0] = time.process_time(), 0, 0.0
            for game in batch_game_ids(batch.id):
                rounds += run_stored_game(game, settings=settings, live=live)["rounds"]
            ms = (time.process_time() - start) / rounds * 1000
            gc.unfreeze()
            best[variant] = min(best[variant], ms)
            seconds, counted = collected[variant]
            collected[variant] = (seconds + collecting[0], counted + rounds)
    gc.callbacks.remove(timed)
    OpenAICompatClient.complete = now  # type: ignore[method-assign]
    return {name: (best[name], s / n * 1000) for name, (s, n) in collected.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="rounds timed per part and turn")
    parser.add_argument("--repeat", type=int, default=5, help="turns; the least is kept")
    parser.add_argument("--games", type=int, default=4, help="whole games per turn (0: none)")
    parser.add_argument("--redis-url", help="a Redis database to use (flushed!)")
    args = parser.parse_args()
    if args.rounds < 1 or args.repeat < 1 or args.games < 0:
        parser.error("--rounds and --repeat must be at least 1, --games at least 0")
    print(host_speed(), flush=True)
    with (
        fake_llm() as url,
        bench_redis(args.redis_url) as redis_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        rows, sdk_post = measure(Parts(url, Path(tmp), redis_url), args.rounds, args.repeat)
        if args.games:
            games = whole_games(url, Path(tmp), redis_url, args.games, args.repeat)
    before, now = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [[name, f"{b:.3f}", f"{n:.3f}", f"{n / now:.0%}"] for name, b, n in rows]
    lines.append(["sum", f"{before:.3f}", f"{now:.3f}", "100%"])
    table(
        f"Worker CPU ms per LLM round, part by part (least of {args.repeat} x {args.rounds} "
        "rounds each, one thread, fake provider without latency)",
        ["part", "before", "now", "share now"],
        lines,
    )
    print(
        f"  before: the SDK's chat.completions.create per move; bench_scale.py measured "
        f"{BASELINE_ROUND_MS} ms/round in real games then\n  (contention between a "
        "process's threads comes on top of this sum)\n"
        f"  SDK calls (2) through the SDK's post() with the request built once (the step "
        f"before the lean path): {sdk_post:.3f} ms"
    )
    if args.games:
        table(
            f"Whole LLM v LLM games in one process, {args.games} a turn, one at a time (least "
            f"of {args.repeat} turns)",
            ["moves made", "worker CPU ms/round", "of it collecting garbage (all turns)"],
            [[variant, f"{ms:.2f}", f"{gc_ms:.3f}"] for variant, (ms, gc_ms) in games.items()],
        )
        print(f"  now / before: {games['now'][0] / games['before'][0]:.0%}")
    print(f"  {host_speed()}")


if __name__ == "__main__":
    main()
