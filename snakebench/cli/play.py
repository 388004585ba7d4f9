"""``snakebench play``: one game in this process, with a live board."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from types import FrameType
from typing import Annotated, Any

import typer

from snakebench.cli.app import err
from snakebench.cli.options import game_options
from snakebench.cli.terminal import SafeConsole, frame_view, live_display
from snakebench.engine import GameState
from snakebench.games.simulation import GameParams, run_simulation
from snakebench.options import DEFAULTS, GameOptions
from snakebench.players.base import MoveDecision
from snakebench.store import BOT_MODELS, UnknownModelError, open_store, store_exists

out = SafeConsole(soft_wrap=True)


@game_options(max_rounds=GameParams().max_rounds)
def play(
    model_a: Annotated[
        str | None, typer.Argument(help="Snake 0's model.", show_default=False)
    ] = None,
    model_b: Annotated[
        str | None, typer.Argument(help="Snake 1's model.", show_default=False)
    ] = None,
    models: Annotated[
        tuple[str, str] | None,
        typer.Option("--models", help="Both models at once, as the original: --models A B."),
    ] = None,
    options: GameOptions = DEFAULTS,  # each game option (snakebench.cli.options)
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=2**63 - 1, help="Fixes start cells and apples (random if unset)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON (game_id, scores, result).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live board.")] = False,
) -> None:
    """Play one game between two models and store it.

    Models are names from snakebench models list; the bots
    random, greedy and survivor need no API key.
    The replay goes to SNAKEBENCH_REPLAY_DIR (default replays/).

    Example: snakebench play greedy random --seed 7 --json
    """
    model_a, model_b = _two_models(model_a, model_b, models)
    params = GameParams(**asdict(options), seed=seed)
    params.check()
    if not store_exists():  # a new directory knows only the bots: refuse before creating it
        for name in (model_a, model_b):
            if name not in BOT_MODELS:
                raise UnknownModelError(name, BOT_MODELS)
    open_store()
    names = {"0": model_a, "1": model_b}
    with sigterm_as_interrupt():
        result = _run(names, params) if quiet else _run_with_live_board(names, params)
    if as_json:
        out.print_json(json.dumps(result))
    else:
        out.print(_summary_line(names, result))
    if result["status"] != "completed":
        raise typer.Exit(1)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a container stopping) stops the game as Ctrl+C does: marked
    ``cancelled``, not left ``running`` forever by a process that is gone."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(names: dict[str, str], params: GameParams) -> dict[str, Any]:
    return run_simulation(names["0"], names["1"], params)


def _run_with_live_board(names: dict[str, str], params: GameParams) -> dict[str, Any]:
    """Play while redrawing the board after each round (on stderr, so that stdout
    holds only the result, e.g. for --json)."""
    rules = params.rules()
    with live_display(err) as live:

        def show(state: GameState, moves: Mapping[str, MoveDecision]) -> None:
            records = {sid: d.record() for sid, d in moves.items()}
            live.update(frame_view(state, rules, names, records), refresh=True)

        return run_simulation(names["0"], names["1"], params, on_round=show)


def _two_models(
    model_a: str | None, model_b: str | None, models: tuple[str, str] | None
) -> tuple[str, str]:
    if models and (model_a or model_b):
        raise typer.BadParameter("give two models either as arguments or with --models")
    if models:
        return models
    if not (model_a and model_b):
        raise typer.BadParameter("two models are needed, e.g. snakebench play greedy random")
    return model_a, model_b


def _summary_line(names: dict[str, str], result: dict[str, Any]) -> str:
    """E.g. ``survivor 6 - 7 greedy: survivor won, greedy died (body_collision) in round 24``."""
    scores, outcome = result["final_scores"], result["game_result"]
    line = f"{names['0']} {scores.get('0', 0)} - {scores.get('1', 0)} {names['1']}: "
    if result["status"] != "completed":
        line += f"{result['status']}: {result['error']}"
    elif outcome.get("0") == "tied":
        line += "tied"
    else:
        line += f"{names['0' if outcome.get('0') == 'won' else '1']} won"
    for sid, death in result["deaths"].items():
        line += f", {names[sid]} died ({death['reason']}) in round {death['round'] + 1}"
    if result["status"] == "completed" and not result["deaths"]:
        line += f" after {result['rounds']} rounds"
    return f"{line}\ngame {result['game_id']}\nreplay {result['replay_path']}"
