"""Which prompt variant each player of a game gets, fixed when the game is written, and
the counts that decide whether a variant may be removed (SQLite and PostgreSQL)."""

from __future__ import annotations

import peewee as pw

from snakebench.store import (
    Game,
    NewGame,
    create_batch_with_games,
    create_game,
    ensure_bot_models,
    game_participants,
    prompt_variant_use,
    set_model_prompt_variant,
    upsert_model,
)


def _models() -> tuple[int, int, int]:
    """Two LLM models (one with its own variant ``terse``) and the greedy bot."""
    plain = upsert_model("plain", provider="openai", model_slug="a").id
    terse = upsert_model("own", provider="openai", model_slug="b", prompt_variant="terse").id
    greedy = next(bot.id for bot in ensure_bot_models() if bot.name == "greedy")
    return plain, terse, greedy


def _variants(game_id: str) -> list[str | None]:
    return [p.prompt_variant for p in game_participants(game_id)]


def test_players_get_the_games_variant_else_their_models_own_else_default(
    db: pw.Database,
) -> None:
    plain, own, greedy = _models()
    batch = create_batch_with_games(
        [NewGame(1, (plain, own)), NewGame(2, (own, greedy))], settings={}
    )
    overridden = create_batch_with_games(
        [NewGame(1, (plain, own))], settings={"prompt_variant": "minimal"}
    )
    written = [g.id for g in batch.games.order_by(Game.created_at)]
    assert [_variants(g) for g in written] == [["default", "terse"], ["terse", None]]
    assert _variants(overridden.games.get().id) == ["minimal", "minimal"]
    game = create_game(seed=3, players=("greedy", "plain"), prompt_variant="minimal")
    assert _variants(game.id) == [None, "minimal"]


def test_a_models_variant_changed_later_leaves_written_games_alone(db: pw.Database) -> None:
    _, own, _ = _models()
    game = create_game(seed=3, players=("own", "plain"))
    set_model_prompt_variant(own, "minimal")
    assert _variants(game.id) == ["terse", "default"]
    assert _variants(create_game(seed=4, players=("own", "plain")).id) == ["minimal", "default"]


def test_a_variants_use_counts_its_players_and_the_models_that_own_it(db: pw.Database) -> None:
    _models()
    create_game(seed=1, players=("own", "plain"))
    create_game(seed=2, players=("own", "greedy"))
    use = prompt_variant_use(["terse", "default", "minimal"])
    assert (use["terse"].players, use["terse"].models) == (2, ("own",))
    assert (use["default"].players, use["default"].models) == (1, ())
    assert (use["minimal"].players, use["minimal"].models) == (0, ())
