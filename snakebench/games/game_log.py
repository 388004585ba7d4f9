"""The lines a worker's log holds about each game: one when it starts, one when it
ends (however it ends), and one when a game is not played at all.

An operator following ``rq worker`` output should see, per game, who played, how it
ended and why, what it cost and how long it took, without opening the database. The
level says how much attention a line needs: a completed game is INFO, a void or
cancelled one WARNING (nobody's bug, but no result), a failed one ERROR (ours).
Reasons may quote a provider's or a model's text, so they pass through
:func:`snakebench.logs.bounded`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from snakebench.logs import bounded
from snakebench.store import Participant

log = logging.getLogger(__name__)

LEVELS = {
    "completed": logging.INFO,
    "void": logging.WARNING,
    "cancelled": logging.WARNING,
    "failed": logging.ERROR,
}


def player_names(lineup: Sequence[Participant]) -> dict[str, str]:
    """Slot -> model name, in slot order."""
    ordered = sorted(lineup, key=lambda participant: participant.slot)
    return {str(participant.slot): participant.model.name for participant in ordered}


def game_started(game_id: str, names: Mapping[str, str], run: int, worker: str) -> None:
    log.info("game %s started: %s (run %d, worker %s)", game_id, _versus(names), run, worker)


def game_ended(
    summary: Mapping[str, Any],
    names: Mapping[str, str],
    cost: float,
    seconds: float,
    waited: float = 0.0,
) -> None:
    """The end line of a game this run played (or tried to), from its stored summary;
    ``waited``: seconds its moves spent waiting for provider slots (request limits)."""
    status = summary["status"]
    head = f"{_versus(names)}, " + (f"{_result(summary, names)}, " if status == "completed" else "")
    slots = f" ({waited:.1f} s of moves waiting for provider slots)" if waited >= 0.05 else ""
    log.log(
        LEVELS.get(status, logging.WARNING),
        "game %s %s: %s%d rounds, $%.4f, %.1f s%s%s",
        summary["game_id"],
        status,
        head,
        summary["rounds"] or 0,
        cost,
        seconds,
        slots,
        _reason(summary),
    )


def game_not_played(summary: Mapping[str, Any], why: str) -> None:
    """A game this run did not play: already over, or cancelled before its start."""
    level = LEVELS["cancelled"] if summary["status"] == "cancelled" else logging.INFO
    log.log(
        level,
        "game %s not played (%s): it is %s%s",
        summary["game_id"],
        why,
        summary["status"],
        _reason(summary),
    )


def game_left(summary: Mapping[str, Any], run: int, seconds: float) -> None:
    """This run stopped because the game is no longer its own: cancelled meanwhile
    (the reason is the stored one), or claimed by a newer run (``reconcile``)."""
    log.warning(
        "game %s: run %d stopped after %.1f s, the game is %s now%s",
        summary["game_id"],
        run,
        seconds,
        summary["status"],
        _reason(summary),
    )


def _versus(names: Mapping[str, str]) -> str:
    return " vs ".join(bounded(name, 80) for name in names.values())


def _result(summary: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """``greedy won 12-7``, ``tied 5-5``: the winner (if any) and the scores in slot order."""
    results: Mapping[str, str] = summary["game_result"]
    scores: Mapping[str, int] = summary["final_scores"]
    winners = [bounded(names.get(slot, slot), 80) for slot, r in results.items() if r == "won"]
    verdict = f"{winners[0]} won" if winners else ("tied" if results else "no result")
    return f"{verdict} " + "-".join(str(scores.get(slot, 0)) for slot in names)


def _reason(summary: Mapping[str, Any]) -> str:
    error = summary.get("error")
    return f": {bounded(error)}" if error else ""
