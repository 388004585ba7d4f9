"""Round-robin tournaments: every pair of models plays K games, all in ONE batch.

A tournament is a batch like any other (so ``dispatch monitor``, ``cancel`` and
``retry`` work on it): each pair is planned as the two-model batch dispatch would
make (:func:`snakebench.services.batches.plan_batch`, so the checks are the same), then every
pair's games are written together with ``game_type = "tournament"`` and the
tournament recorded in the batch's params. With ``mirror`` every seed is played
twice, sides swapped, which cancels any advantage of slot 0 or 1; the report's side
win rates show whether there was one.

The report is computed in SQL (three grouped queries over the batch's completed
games), so it costs the same for 30 games as for 30,000.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

from snakebench.config import Settings, get_settings
from snakebench.options import GameOptions
from snakebench.services.batches import (
    MAX_BATCH_GAMES,
    MAX_SEED,
    BatchError,
    BatchSpec,
    PreparedBatch,
    plan_batch,
    write_batch,
)
from snakebench.services.budget import check_budget
from snakebench.store import (
    Batch,
    NewGame,
    get_batch,
    latest_batch_of_type,
    results_by_model,
    results_by_pair,
    results_by_slot,
)

GAME_TYPE = "tournament"
POINTS = {"won": 1.0, "tied": 0.5, "lost": 0.0}  # chess scoring


class TournamentError(BatchError):
    """A tournament that cannot be played as asked (too few models, bad counts...)."""


@dataclass(frozen=True)
class TournamentSpec(GameOptions):
    """A round robin: each pair of ``models`` plays ``games_per_pair`` games.

    Pair p (in :func:`itertools.combinations` order of ``models``) uses seeds
    ``seed + p * seeds_per_pair + i``, so the same spec gives the same games. Without
    ``mirror`` the two sides alternate game by game, so no model keeps the same slot
    (an odd count leaves the first-named model one more game in slot 0)."""

    models: tuple[str, ...]
    games_per_pair: int = 2
    mirror: bool = False
    seed: int | None = None
    priority: str = "normal"
    max_cost: float | None = None
    name: str | None = None
    webhook: str | None = None  # docs/WEBHOOKS.md: the batch's own URL

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.models, 2))

    @property
    def seeds_per_pair(self) -> int:
        return self.games_per_pair // 2 if self.mirror else self.games_per_pair

    def pair_spec(self, index: int, model_a: str, model_b: str) -> BatchSpec:
        """Pair ``index`` as the two-model batch dispatch would play."""
        seed = None if self.seed is None else self.seed + index * self.seeds_per_pair
        settings = asdict(self)
        for key in ("models", "games_per_pair", "seed"):
            settings.pop(key)
        return BatchSpec(model_a, model_b, count=self.games_per_pair, seed=seed, **settings)


def check_tournament(spec: TournamentSpec) -> None:
    """Refuse what no pair's check would catch: fewer than two distinct models,
    repeated models, and counts or seeds that do not fit the whole round robin."""
    if len(spec.models) < 2:
        raise TournamentError("a tournament needs at least two models")
    repeated = sorted({m for m in spec.models if spec.models.count(m) > 1})
    if repeated:
        raise TournamentError(f"each model plays once in the line-up; repeated: {repeated}")
    if spec.games_per_pair < 1:
        raise TournamentError(f"--games-per-pair must be at least 1, got {spec.games_per_pair}")
    total = spec.games_per_pair * len(spec.pairs)
    if total > MAX_BATCH_GAMES:
        raise TournamentError(
            f"{len(spec.pairs)} pairs x {spec.games_per_pair} games is {total:,} games; one "
            f"tournament plays at most {MAX_BATCH_GAMES:,}"
        )
    if spec.mirror and spec.games_per_pair % 2:
        raise TournamentError(
            f"with --mirror, --games-per-pair must be even (seeds played twice), "
            f"got {spec.games_per_pair}"
        )
    highest = MAX_SEED - spec.seeds_per_pair * len(spec.pairs) + 1
    if spec.seed is not None and not 0 <= spec.seed <= highest:
        raise TournamentError(f"--seed must be between 0 and {highest}")


def create_tournament(
    spec: TournamentSpec, settings: Settings | None = None, *, force: bool = False
) -> Batch:
    """:func:`prepare_tournament`, then write its batch (no Redis)."""
    return prepare_tournament(spec, settings, force=force).write()


def prepare_tournament(
    spec: TournamentSpec, settings: Settings | None = None, *, force: bool = False
) -> PreparedBatch:
    """Validate every pair as dispatch does and check the whole estimate against
    ``max_cost``; writing it makes ONE batch holding every pair's games (``queued``)."""
    check_tournament(spec)
    settings = settings or get_settings()
    plans = [plan_batch(spec.pair_spec(i, a, b), settings) for i, (a, b) in enumerate(spec.pairs)]
    estimate = sum(plan.estimate for plan in plans)
    check_budget(estimate, spec.max_cost, force=force)
    games = [game for plan in plans for game in _alternated(plan.games, spec.mirror)]
    params = {
        **asdict(spec),  # models, games_per_pair, mirror, seed, rules, priority...
        "models": list(spec.models),
        "tournament": True,
        "estimated_cost": estimate,
    }
    first = spec.pair_spec(0, *spec.pairs[0])
    return PreparedBatch(functools.partial(write_batch, first, games, params, GAME_TYPE))


def _alternated(games: list[NewGame], mirror: bool) -> list[NewGame]:
    """Without ``mirror``, swap sides in every other game: a slot advantage must not
    be baked into the standings of whoever was named first."""
    if mirror:
        return games
    return [
        NewGame(game.seed, game.model_ids[::-1]) if index % 2 else game
        for index, game in enumerate(games)
    ]


def latest_tournament_id() -> str | None:
    """The batch of the most recently created tournament game, if any."""
    return latest_batch_of_type(GAME_TYPE)


# --- the report ---------------------------------------------------------------------


def standings(batch_id: str) -> list[dict[str, Any]]:
    """Per model: games, wins, losses, ties, points (1 a win, 1/2 a tie), apples and
    cost, best first; one grouped query."""
    rows = []
    for name, games, won, lost, tied, apples, cost in results_by_model(batch_id):
        points = won * POINTS["won"] + tied * POINTS["tied"]
        rows.append(
            {"model": name, "games": games, "won": won, "lost": lost, "tied": tied,
             "points": points, "apples": apples, "cost": cost}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (-r["points"], -r["won"], r["model"]))


def pair_matrix(batch_id: str) -> dict[str, dict[str, dict[str, int]]]:
    """``matrix[row][column]``: the row model's wins, losses and ties against the
    column model; one query grouped by pair."""
    matrix: dict[str, dict[str, dict[str, int]]] = {}
    for row, column, won, lost, tied in results_by_pair(batch_id):
        matrix.setdefault(row, {})[column] = {"won": won, "lost": lost, "tied": tied}
    return matrix


def side_rates(batch_id: str) -> dict[str, Any]:
    """Completed games and how they went by side: slot 0 won, slot 1 won, tied (each
    a count and a rate of the games); one query grouped by slot."""
    by_slot = results_by_slot(batch_id)
    games, slot0_won, tied = by_slot.get(0, (0, 0, 0))
    slot1_won = by_slot.get(1, (0, 0, 0))[1]

    def rate(count: int) -> float | None:
        return count / games if games else None

    return {
        "games": games,
        "slot0_won": slot0_won,
        "slot1_won": slot1_won,
        "tied": tied,
        "slot0_rate": rate(slot0_won),
        "slot1_rate": rate(slot1_won),
        "tie_rate": rate(tied),
    }


def tournament_report(batch_id: str) -> dict[str, Any]:
    """Standings, the pair matrix and side win rates of a tournament batch, over its
    completed games (JSON-ready). Any batch works; a dispatch batch is a one-pair
    round robin."""
    batch = get_batch(batch_id)
    params = batch.params or {}
    models = params.get("models") or [params.get("model_a"), params.get("model_b")]
    return {
        "batch_id": batch.id,
        "name": batch.name,
        "models": models,
        "games_per_pair": params.get("games_per_pair", params.get("count")),
        "mirror": bool(params.get("mirror")),
        "seed": params.get("seed"),
        "total_games": batch.total_games,
        "completed": batch.completed,
        "standings": standings(batch.id),
        "pairs": pair_matrix(batch.id),
        "sides": side_rates(batch.id),
    }
