"""Schema migrations on SQLite and PostgreSQL: apply once, record, agree with the models."""

from __future__ import annotations

import threading

import peewee as pw
import pytest
from playhouse.migrate import SchemaMigrator, migrate

from snakebench.store import (
    ALL_MODELS,
    MIGRATIONS,
    Game,
    Model,
    Participant,
    current_version,
    latest_version,
    migrations,
    pending_versions,
    upgrade,
)
from snakebench.store.setup import _upgrade_if_behind

PROMPT_VARIANTS_MIGRATION = 7


def test_upgrade_creates_tables_and_is_safe_twice(raw_db: pw.Database) -> None:
    assert current_version(raw_db) == 0
    assert upgrade(raw_db) == [v for v, _, _ in MIGRATIONS]
    tables = set(raw_db.get_tables())
    assert {"models", "batches", "games", "participants", "schema_version"} <= tables
    assert {"rating_changes", "evaluations", "spend", "request_limits", "prompt_variants"} <= tables
    versions = sorted(v for v, _, _ in MIGRATIONS)
    assert current_version(raw_db) == latest_version() == versions[-1]
    assert upgrade(raw_db) == []
    assert current_version(raw_db) == versions[-1]
    rows = raw_db.execute_sql("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [r[0] for r in rows] == versions


def test_models_match_migrated_schema(db: pw.Database) -> None:
    """The live model classes and the frozen migration agree column for column."""
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name for c in db.get_columns(table)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, table


def test_indexes(db: pw.Database) -> None:
    def indexes(table: str) -> dict[tuple[str, ...], bool]:
        return {tuple(i.columns): i.unique for i in db.get_indexes(table)}

    assert indexes("participants")[("game_id", "slot")] is True
    assert indexes("rating_changes")[("game_id", "model_id")] is True
    assert indexes("models")[("name",)] is True
    games = indexes("games")
    assert games[("status",)] is False
    assert games[("batch_id",)] is False
    assert indexes("request_limits")[("scope", "name")] is True
    spend = indexes("spend")  # what budgets and cost reports sum by
    assert {("batch_id",), ("day",), ("model_id", "day"), ("game_id",)} <= set(spend)


def test_concurrent_upgrades_apply_once(db_url: str, raw_db: pw.Database) -> None:
    """Threads get their own connections from peewee: a fair stand-in for processes."""
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            results.append(upgrade(raw_db))
        except BaseException as exc:
            errors.append(exc)
        finally:
            if not raw_db.is_closed():
                raw_db.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    applied = sorted(version for result in results for version in result)
    assert len(results) == 4 and applied == [v for v, _, _ in MIGRATIONS]  # each once
    assert current_version(raw_db) == latest_version()


def test_a_migration_numbered_below_the_highest_applied_still_runs(raw_db: pw.Database) -> None:
    """Branches merged in another order: a database that has 1-4 and 8 gets 5-7 too."""
    upgrade(raw_db)
    raw_db.execute_sql("DROP TABLE request_limits")  # undo migration 6
    migrate(SchemaMigrator.from_database(raw_db).drop_column("participants", "total_wait_ms"))
    raw_db.execute_sql("DELETE FROM schema_version WHERE version = 6")
    assert current_version(raw_db) == latest_version()  # the highest is still applied
    assert pending_versions(raw_db) == [6]
    assert _upgrade_if_behind(raw_db) == [6]  # what every entry point runs at start
    assert "request_limits" in raw_db.get_tables()


def test_prompt_variants_migration_marks_earlier_model_players_default(
    raw_db: pw.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before migration 7 there was one prompt, today's ``default``: the players of
    models in games already stored are marked so (their text's hash unknown), bots not."""
    # Every migration but this one (later ones too: they add columns peewee writes).
    earlier = [m for m in MIGRATIONS if m[0] != PROMPT_VARIANTS_MIGRATION]
    monkeypatch.setattr(migrations, "MIGRATIONS", earlier)
    upgrade(raw_db)
    # peewee writes only the columns it has values or defaults for: the older schema's.
    gpt = Model.insert(name="gpt", provider="openai", model_slug="gpt-x").execute()
    bot = Model.insert(name="greedy", provider="bot", model_slug="greedy").execute()
    Game.insert(id="g1", seed=7).execute()
    Participant.insert_many(
        [{"game": "g1", "model": gpt, "slot": 0}, {"game": "g1", "model": bot, "slot": 1}]
    ).execute()
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    assert upgrade(raw_db) == [PROMPT_VARIANTS_MIGRATION]
    rows = raw_db.execute_sql(
        "SELECT slot, prompt_variant, prompt_sha FROM participants ORDER BY slot"
    ).fetchall()
    assert [tuple(row) for row in rows] == [(0, "default", None), (1, None, None)]
