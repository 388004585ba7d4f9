"""Queries on SQLite and PostgreSQL: models, the game life cycle, one-transaction completion."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import peewee as pw
import pytest

from snakebench.store import (
    Batch,
    Game,
    GameStateError,
    Model,
    Participant,
    UnknownGameError,
    UnknownModelError,
    cancel_game,
    complete_game,
    create_batch,
    create_game,
    ensure_bot_models,
    game_participants,
    get_game,
    get_model,
    list_models,
    mark_running,
    save_participants,
    upsert_model,
    utcnow,
)
from snakebench.store import rating_queries as rating_module

COUNTERS = ("wins", "losses", "ties", "apples_eaten", "games_played")


def _counters(name: str) -> dict[str, Any]:
    model = get_model(name)
    return {field: getattr(model, field) for field in (*COUNTERS, "last_played_at")}


def _batch_counts(batch_id: str) -> dict[str, Any]:
    batch = Batch.get_by_id(batch_id)
    fields = ("queued", "running", "completed", "failed", "void", "cancelled", "total_cost")
    return {f: getattr(batch, f) for f in fields}


def _results(score0: int = 3, score1: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "slot": 0,
            "score": score0,
            "result": "won",
            "cost": 0.25,
            "input_tokens": 1000,
            "output_tokens": 50,
            "moves": 12,
            "total_latency_ms": 340.5,
        },
        {
            "slot": 1,
            "score": score1,
            "result": "lost",
            "death_round": 11,
            "death_reason": "wall",
            "cost": 0.5,
            "invalid_moves": 1,
            "fallback_parses": 2,
            "moves": 12,
        },
    ]


@pytest.fixture
def bots(db: pw.Database) -> list[Model]:
    return ensure_bot_models()


@pytest.fixture
def running_game(bots: list[Model]) -> Game:
    batch = create_batch(name="b", params={"pairs": 1}, total_games=1)
    game = create_game(seed=42, players=["random", "greedy"], batch_id=batch.id)
    return mark_running(game.id, "worker-1")


# --- models ---------------------------------------------------------------------------


def test_unknown_model_lists_known_names(bots: list[Model]) -> None:
    with pytest.raises(UnknownModelError) as info:
        get_model("gpt-9")
    assert str(info.value) == "unknown model 'gpt-9'; known: greedy, random, survivor"
    assert info.value.name == "gpt-9"
    assert info.value.known_names == ["greedy", "random", "survivor"]


def test_unknown_model_on_empty_database(db: pw.Database) -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model 'x'; known: \(none\)"):
        get_model("x")


def test_ensure_bot_models_is_idempotent(db: pw.Database) -> None:
    first = ensure_bot_models()
    Model.update(is_active=False, wins=7).where(Model.name == "random").execute()
    second = ensure_bot_models()
    assert [m.id for m in first] == [m.id for m in second]
    assert Model.select().count() == 3
    random_bot = get_model("random")
    assert (random_bot.provider, random_bot.model_slug) == ("bot", "random")
    assert random_bot.price_input_per_m == random_bot.price_output_per_m == 0.0
    assert (random_bot.is_active, random_bot.wins) == (False, 7)  # untouched by the upsert


def test_upsert_model_and_list_models(bots: list[Model]) -> None:
    model = upsert_model(
        "gpt-x",
        provider="openai",
        model_slug="gpt-x-2025",
        api_key_env="OPENAI_API_KEY",
        price_input_per_m=1.25,
        extra={"reasoning_effort": "low", "nested": {"a": [1, 2]}},
    )
    assert model.extra == {"reasoning_effort": "low", "nested": {"a": [1, 2]}}
    assert model.trueskill_mu == 25.0 and model.elo_rating == 1500.0
    again = upsert_model("gpt-x", provider="openai", model_slug="gpt-x-2026")
    assert again.id == model.id and again.model_slug == "gpt-x-2026"
    assert again.price_input_per_m == 1.25  # not passed, so kept
    assert again.extra == {"reasoning_effort": "low", "nested": {"a": [1, 2]}}
    assert upsert_model("gpt-x", provider="openai", model_slug="s", extra={}).extra == {}
    Model.update(is_active=False).where(Model.name == "greedy").execute()
    assert [m.name for m in list_models()] == ["gpt-x", "greedy", "random", "survivor"]
    assert [m.name for m in list_models(active_only=True)] == ["gpt-x", "random", "survivor"]
    with pytest.raises(ValueError, match="unknown model fields: api_key"):
        upsert_model("y", provider="openai", model_slug="y", api_key="sk-secret")


def test_model_save_bumps_updated_at(bots: list[Model]) -> None:
    model = get_model("random")
    before = model.updated_at
    model.test_status = "ranked"
    model.save()
    assert get_model("random").updated_at >= before


# --- game creation and life cycle -----------------------------------------------------


def test_create_game(bots: list[Model]) -> None:
    batch = create_batch(params={"rounds": 100}, total_games=2, max_cost=5.0)
    game = create_game(
        seed=2**62, players=["random", "survivor"], batch_id=batch.id, width=12, max_rounds=150
    )
    stored = get_game(game.id)
    assert str(uuid.UUID(stored.id)) == stored.id and len(stored.id) == 36
    assert stored.status == "queued" and stored.seed == 2**62
    assert (stored.width, stored.height, stored.max_rounds, stored.apple_target) == (
        12,
        10,
        150,
        30,
    )
    assert (stored.double_death, stored.invalid_move_policy, stored.game_type) == (
        "score",
        "random",
        "ladder",
    )
    assert stored.created_at.tzinfo is None
    assert abs(stored.created_at - utcnow()) < timedelta(minutes=1)
    lineup = game_participants(game.id)
    assert [(p.slot, p.model.name, p.result) for p in lineup] == [
        (0, "random", None),
        (1, "survivor", None),
    ]
    assert _batch_counts(batch.id)["queued"] == 1
    assert Batch.get_by_id(batch.id).params == {"rounds": 100}


def test_create_game_with_given_id_and_unknown_player(bots: list[Model]) -> None:
    game = create_game(seed=1, game_id="fixed-id")
    assert game.id == "fixed-id" and game_participants("fixed-id") == []
    with pytest.raises(UnknownModelError):
        create_game(seed=1, players=["random", "nope"])
    with pytest.raises(ValueError, match="unknown game settings: colour"):
        create_game(seed=1, colour="red")
    assert Game.select().count() == 1


def test_mark_running(running_game: Game) -> None:
    assert running_game.status == "running"
    assert running_game.worker == "worker-1" and running_game.started_at is not None
    assert _batch_counts(running_game.batch_id or "")["queued"] == 0
    assert _batch_counts(running_game.batch_id or "")["running"] == 1
    again = mark_running(running_game.id, "worker-2")  # a retried job re-claims it
    assert again.worker == "worker-2"
    assert _batch_counts(running_game.batch_id or "")["running"] == 1
    with pytest.raises(UnknownGameError):
        mark_running("no-such-game", "w")


def test_complete_game_writes_everything(running_game: Game) -> None:
    game = complete_game(
        running_game.id,
        rounds=12,
        replay_path="replays/x.json",
        total_cost=0.75,
        participants=_results(),
    )
    assert game.status == "completed" and game.rounds == 12 and game.ended_at is not None
    assert game.replay_path == "replays/x.json" and game.total_cost == 0.75
    slot0, slot1 = game_participants(game.id)
    assert (slot0.score, slot0.result, slot0.input_tokens, slot0.total_latency_ms) == (
        3,
        "won",
        1000,
        340.5,
    )
    assert (slot1.result, slot1.death_round, slot1.death_reason, slot1.fallback_parses) == (
        "lost",
        11,
        "wall",
        2,
    )
    winner, loser = _counters("random"), _counters("greedy")
    assert {k: winner[k] for k in COUNTERS} == {
        "wins": 1,
        "losses": 0,
        "ties": 0,
        "apples_eaten": 3,
        "games_played": 1,
    }
    assert {k: loser[k] for k in COUNTERS} == {
        "wins": 0,
        "losses": 1,
        "ties": 0,
        "apples_eaten": 1,
        "games_played": 1,
    }
    assert winner["last_played_at"] == game.ended_at
    assert _counters("survivor")["games_played"] == 0
    counts = _batch_counts(game.batch_id or "")
    assert (counts["running"], counts["completed"], counts["total_cost"]) == (0, 1, 0.75)


def test_tie_counts(running_game: Game) -> None:
    rows = [{"slot": 0, "score": 2, "result": "tied"}, {"slot": 1, "score": 2, "result": "tied"}]
    complete_game(running_game.id, rounds=5, replay_path=None, total_cost=0, participants=rows)
    assert _counters("random")["ties"] == _counters("greedy")["ties"] == 1


def test_completing_twice_is_refused(running_game: Game) -> None:
    complete_game(
        running_game.id, rounds=1, replay_path=None, total_cost=0.1, participants=_results()
    )
    before = _counters("random"), _batch_counts(running_game.batch_id or "")
    with pytest.raises(GameStateError, match="is completed"):
        complete_game(
            running_game.id, rounds=1, replay_path=None, total_cost=0.1, participants=_results()
        )
    assert (_counters("random"), _batch_counts(running_game.batch_id or "")) == before
    assert len(game_participants(running_game.id)) == 2


@pytest.mark.parametrize("status", ["void", "failed"])
def test_void_and_failed_games_touch_no_model(running_game: Game, status: str) -> None:
    before = {name: _counters(name) for name in ("random", "greedy")}
    game = complete_game(
        running_game.id,
        rounds=4,
        replay_path=None,
        total_cost=0.2,
        participants=_results(),
        status=status,
        error="provider outage" if status == "void" else "KeyError: 'x'",
    )
    assert game.status == status and game.error
    assert {name: _counters(name) for name in ("random", "greedy")} == before
    assert [p.result for p in game_participants(game.id)] == ["won", "lost"]  # kept for audit
    assert _batch_counts(game.batch_id or "")[status] == 1


def test_failure_midway_rolls_everything_back(
    running_game: Game, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step (the models' counters and ratings) fails after the game row, the
    participants and the first model were written."""
    real = rating_module._set_skill
    calls: list[int] = []

    def fail_second(model_id: int, *args: Any) -> None:
        calls.append(model_id)
        if len(calls) == 2:
            raise pw.OperationalError("disk I/O error")
        real(model_id, *args)

    monkeypatch.setattr(rating_module, "_set_skill", fail_second)
    batch_before = _batch_counts(running_game.batch_id or "")
    with pytest.raises(pw.OperationalError):
        complete_game(
            running_game.id, rounds=9, replay_path="r.json", total_cost=1, participants=_results()
        )
    assert len(calls) == 2
    game = get_game(running_game.id)
    assert (game.status, game.rounds, game.ended_at, game.replay_path) == ("running", 0, None, None)
    assert [(p.score, p.result) for p in game_participants(game.id)] == [(0, None), (0, None)]
    assert _counters("random")["wins"] == 0 and _counters("random")["games_played"] == 0
    assert _batch_counts(running_game.batch_id or "") == batch_before


def test_unknown_model_for_new_slot_rolls_back(bots: list[Model]) -> None:
    """A game created without a line-up gets its rows at completion; one bad name undoes all."""
    game = create_game(seed=7)
    rows = [
        {"slot": 0, "model": "random", "score": 1, "result": "won"},
        {"slot": 1, "model": "gpt-nope", "score": 0, "result": "lost"},
    ]
    with pytest.raises(UnknownModelError):
        complete_game(game.id, rounds=3, replay_path=None, total_cost=0, participants=rows)
    assert get_game(game.id).status == "queued"
    assert game_participants(game.id) == []
    assert _counters("random")["games_played"] == 0
    rows[1]["model"] = "survivor"
    complete_game(game.id, rounds=3, replay_path=None, total_cost=0, participants=rows)
    assert [p.model.name for p in game_participants(game.id)] == ["random", "survivor"]
    assert _counters("survivor")["losses"] == 1


def test_duplicate_slot_changes_nothing(running_game: Game) -> None:
    rows = _results()
    rows[1]["slot"] = 0
    with pytest.raises(ValueError, match="duplicate participant slot 0"):
        complete_game(running_game.id, rounds=2, replay_path=None, total_cost=0, participants=rows)
    assert get_game(running_game.id).status == "running"
    assert _counters("random")["games_played"] == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"slot": 0, "scroe": 1}, "unknown participant fields: scroe"),
        ({"score": 1}, "integer slot"),
        ({"slot": 0, "result": "win"}, "won|lost|tied"),
    ],
)
def test_malformed_participants_are_rejected(
    running_game: Game, row: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        complete_game(running_game.id, rounds=2, replay_path=None, total_cost=0, participants=[row])
    assert get_game(running_game.id).status == "running"


def test_wrong_model_for_slot(running_game: Game) -> None:
    rows = _results()
    rows[0]["model"] = "survivor"
    with pytest.raises(ValueError, match=r"slot 0 .* is 'random', not 'survivor'"):
        complete_game(running_game.id, rounds=2, replay_path=None, total_cost=0, participants=rows)
    assert get_game(running_game.id).status == "running"


def test_unique_game_slot(running_game: Game) -> None:
    with pytest.raises(pw.IntegrityError):
        Participant.create(game=running_game.id, model=get_model("survivor").id, slot=0)
    assert len(game_participants(running_game.id)) == 2


def test_save_participants_is_idempotent(running_game: Game) -> None:
    save_participants(running_game.id, _results())
    save_participants(running_game.id, _results())
    saved = game_participants(running_game.id)
    assert [(p.slot, p.score) for p in saved] == [(0, 3), (1, 1)]
    assert Participant.select().where(Participant.game == running_game.id).count() == 2


def test_cancel_game(running_game: Game, bots: list[Model]) -> None:
    assert cancel_game(running_game.id) is True
    assert get_game(running_game.id).status == "cancelled"
    assert cancel_game(running_game.id) is False
    counts = _batch_counts(running_game.batch_id or "")
    assert (counts["running"], counts["cancelled"]) == (0, 1)
    with pytest.raises(GameStateError):
        mark_running(running_game.id, "late-worker")


def test_deleting_a_game_cascades_to_participants(running_game: Game) -> None:
    Game.delete().where(Game.id == running_game.id).execute()
    assert Participant.select().count() == 0
