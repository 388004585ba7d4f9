"""What putting every provider call on the books costs a worker: CPU per call, side by side.

    python scripts/bench_spend.py [--games 20 --rounds 20 --backend sqlite|postgres|both]

Plays the same LLM games (two models on ``snakebench fake-llm``, a separate process, no
latency) in this process through ``run_stored_game``, three ways, and prints this
process's CPU time per provider call:

- **no meter**: the players unmetered, as before the spend ledger (the baseline);
- **ledger**: every call a ledger row, written before it and settled after (no caps set);
- **ledger + 3 caps**: also reserved against a batch cap, a model daily cap and a server
  daily cap through the Redis counters (``WATCH``/``MULTI``) on 127.0.0.1:6379 db 7.

The figures include the whole game (prompt, SDK call, parsing, replay, database writes),
so the differences between rows are what the ledger and the caps add.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import host_speed, table

from snakebench.config import Settings
from snakebench.games import simulation
from snakebench.games.simulation import GameParams, create_stored_game, run_stored_game
from snakebench.localstack.processes import free_port
from snakebench.store import Model, Participant, create_batch, open_store, upsert_model
from snakebench.testing.support import bench_redis, pg_url, throwaway_pg_database, wait_for


@contextmanager
def fake_llm() -> Iterator[str]:
    port = free_port()
    exe = Path(sys.executable).with_name("snakebench")
    proc = subprocess.Popen([str(exe), "fake-llm", "--port", str(port), "--strategy", "survivor"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 30, "the fake LLM server")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    with throwaway_pg_database("sb_bench") as name:
        yield pg_url(name)


def play(url: str, settings: Settings, args: argparse.Namespace, variant: str) -> float:
    """CPU ms per provider call of ``args.games`` games played the ``variant`` way."""
    open_store(settings)
    for name in ("fake-a", "fake-b"):
        upsert_model(name, provider="openai", model_slug="fake/survivor", base_url=f"{url}/v1",
                     price_input_per_m=1.0, price_output_per_m=4.0)  # fmt: skip
    capped = variant == "ledger + 3 caps"
    if capped:
        settings = replace(settings, daily_cap=1e6)
        Model.update(daily_cap=1e6).where(Model.name == "fake-a").execute()
    batch = create_batch(max_cost=1e6 if capped else None)
    live = redis.Redis.from_url(settings.redis_url)
    live.flushdb()
    saved: Callable[..., Any] = simulation.meter_players
    if variant == "no meter":
        simulation.meter_players = lambda *a, **k: []  # type: ignore[assignment]
    try:
        rules = GameParams(max_rounds=args.rounds, batch_id=batch.id)
        games = [create_stored_game("fake-a", "fake-b", rules, settings=settings).id
                 for _ in range(args.games)]  # fmt: skip
        before = time.process_time()
        for game_id in games:
            run_stored_game(game_id, settings=settings, live=live)
        cpu = time.process_time() - before
    finally:
        simulation.meter_players = saved  # type: ignore[assignment]
        live.flushdb()
    calls = _calls(games)
    return cpu * 1000 / calls


def _calls(games: list[str]) -> int:
    moves = Participant.select().where(Participant.game.in_(games))
    total = sum(p.moves for p in moves)
    if total == 0:
        raise SystemExit("no moves were played: is the fake LLM server answering?")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-secret")  # the fake wants one
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    variants = ["no meter", "ledger", "ledger + 3 caps"]
    print(host_speed())
    folder = Path(f"/tmp/bench-spend-{uuid.uuid4().hex[:6]}")
    folder.mkdir()
    rows = []
    with fake_llm() as url, bench_redis(None) as redis_url:
        for backend in backends:
            figures = []
            for variant in variants:
                with database(backend, folder) as db_url:
                    settings = Settings(database_url=db_url, replay_dir=folder / "replays",
                                        redis_url=redis_url)  # fmt: skip
                    figures.append(play(url, settings, args, variant))
            base = figures[0]
            for variant, ms in zip(variants, figures, strict=True):
                extra = "baseline" if variant == "no meter" else f"{ms - base:+.2f} ms"
                rows.append([f"{backend}: {variant}", f"{ms:.2f}", extra])
    subprocess.run(["rm", "-rf", str(folder)], check=False)
    table(f"CPU ms per provider call ({args.games} games x {args.rounds} rounds, both "
          "players LLMs, fake provider in another process)",
          ["variant", "ms/call", "vs no meter"], rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
