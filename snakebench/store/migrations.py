"""Versioned schema migrations, recorded in a ``schema_version`` table.

Each migration is ``(version, description, apply(db))`` and runs in its own transaction
together with the row that records it, so a failed migration leaves nothing half-done
(both SQLite and PostgreSQL have transactional DDL).

Several processes may start at once (a release phase and workers, or many workers on one
SQLite file). On PostgreSQL each transaction first takes ``pg_advisory_xact_lock``; on
SQLite it begins ``IMMEDIATE`` (the write lock). Either way the second process waits,
then sees the version already recorded and applies nothing.

Migration 1 builds the schema from a frozen copy of the models (:func:`_v1_tables`), not
from :mod:`snakebench.store.models`: when a model gains a column, migration 2 adds it, and
a fresh database must reach the same schema by running 1 then 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from snakebench.store.db import is_postgres, transaction
from snakebench.store.models import ELO_START, TRUESKILL_MU, TRUESKILL_SIGMA, utcnow

# Any fixed 64-bit number; every snakebench process migrating a database uses this one.
ADVISORY_LOCK_KEY = 0x536E616B6542656E  # "SnakeBen"
VERSION_TABLE = "schema_version"


def _v1_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The schema of migration 1, frozen. Never edit: add a migration instead."""

    class V1(pw.Model):
        class Meta:
            database = db

    class Models(V1):
        name = pw.CharField(unique=True)
        provider = pw.CharField()
        model_slug = pw.CharField()
        base_url = pw.CharField(null=True)
        api_key_env = pw.CharField(null=True)
        price_input_per_m = pw.DoubleField(default=0.0)
        price_output_per_m = pw.DoubleField(default=0.0)
        max_completion_tokens = pw.IntegerField(null=True)
        extra = pw.TextField(default="{}")
        is_active = pw.BooleanField(default=True)
        test_status = pw.CharField(default="untested")
        trueskill_mu = pw.DoubleField(default=TRUESKILL_MU)
        trueskill_sigma = pw.DoubleField(default=TRUESKILL_SIGMA)
        trueskill_exposed = pw.DoubleField(default=0.0)
        elo_rating = pw.DoubleField(default=ELO_START)
        wins = pw.IntegerField(default=0)
        losses = pw.IntegerField(default=0)
        ties = pw.IntegerField(default=0)
        apples_eaten = pw.IntegerField(default=0)
        games_played = pw.IntegerField(default=0)
        created_at = pw.DateTimeField(default=utcnow)
        updated_at = pw.DateTimeField(default=utcnow)
        last_played_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "models"

    class Batches(V1):
        id = pw.CharField(max_length=36, primary_key=True)
        name = pw.CharField(null=True)
        created_at = pw.DateTimeField(default=utcnow)
        status = pw.CharField(default="active")
        params = pw.TextField(default="{}")
        total_games = pw.IntegerField(default=0)
        queued = pw.IntegerField(default=0)
        running = pw.IntegerField(default=0)
        completed = pw.IntegerField(default=0)
        failed = pw.IntegerField(default=0)
        void = pw.IntegerField(default=0)
        cancelled = pw.IntegerField(default=0)
        total_cost = pw.DoubleField(default=0.0)
        max_cost = pw.DoubleField(null=True)

        class Meta:
            table_name = "batches"

    class Games(V1):
        id = pw.CharField(max_length=36, primary_key=True)
        seed = pw.BigIntegerField()
        status = pw.CharField(default="queued", index=True)
        game_type = pw.CharField(default="ladder")
        batch = pw.ForeignKeyField(Batches, null=True, on_delete="SET NULL")
        width = pw.IntegerField(default=10)
        height = pw.IntegerField(default=10)
        num_apples = pw.IntegerField(default=5)
        max_rounds = pw.IntegerField(default=100)
        apple_target = pw.IntegerField(default=30)
        double_death = pw.CharField(default="score")
        invalid_move_policy = pw.CharField(default="random")
        rounds = pw.IntegerField(default=0)
        created_at = pw.DateTimeField(default=utcnow, index=True)
        started_at = pw.DateTimeField(null=True)
        ended_at = pw.DateTimeField(null=True)
        replay_path = pw.CharField(null=True)
        total_cost = pw.DoubleField(default=0.0)
        error = pw.TextField(null=True)
        worker = pw.TextField(null=True)

        class Meta:
            table_name = "games"

    class Participants(V1):
        game = pw.ForeignKeyField(Games, on_delete="CASCADE")
        model = pw.ForeignKeyField(Models)
        slot = pw.IntegerField()
        score = pw.IntegerField(default=0)
        result = pw.CharField(null=True)
        death_round = pw.IntegerField(null=True)
        death_reason = pw.CharField(null=True)
        cost = pw.DoubleField(default=0.0)
        input_tokens = pw.IntegerField(default=0)
        output_tokens = pw.IntegerField(default=0)
        invalid_moves = pw.IntegerField(default=0)
        fallback_parses = pw.IntegerField(default=0)
        moves = pw.IntegerField(default=0)
        total_latency_ms = pw.DoubleField(default=0.0)

        class Meta:
            table_name = "participants"
            indexes = ((("game", "slot"), True),)

    return [Models, Batches, Games, Participants]


def _create_v1(db: pw.Database) -> None:
    db.create_tables(_v1_tables(db), safe=False)


def _v2_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The tables migration 2 adds, frozen. Never edit: add a migration instead."""
    models, batches, games, _ = _v1_tables(db)

    class V2(pw.Model):
        class Meta:
            database = db

    class RatingChanges(V2):
        game = pw.ForeignKeyField(games, on_delete="CASCADE")
        model = pw.ForeignKeyField(models, on_delete="CASCADE")
        mu_before = pw.DoubleField()
        sigma_before = pw.DoubleField()
        mu_after = pw.DoubleField()
        sigma_after = pw.DoubleField()
        created_at = pw.DateTimeField(default=utcnow)

        class Meta:
            table_name = "rating_changes"
            indexes = ((("game", "model"), True),)

    class Evaluations(V2):
        model = pw.ForeignKeyField(models, on_delete="CASCADE")
        batch = pw.ForeignKeyField(batches, null=True, on_delete="SET NULL")
        games_target = pw.IntegerField(default=10)
        games_started = pw.IntegerField(default=0)
        status = pw.CharField(default="queued")
        error = pw.TextField(null=True)
        created_at = pw.DateTimeField(default=utcnow)
        updated_at = pw.DateTimeField(default=utcnow)

        class Meta:
            table_name = "evaluations"

    return [RatingChanges, Evaluations]


def _create_v2(db: pw.Database) -> None:
    db.create_tables(_v2_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("games", "rating_seq", pw.BigIntegerField(null=True)),
        migrator.add_index("games", ("rating_seq",), False),
    )


def _add_attempt(db: pw.Database) -> None:
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("games", "attempt", pw.IntegerField(default=0)))


def _v4_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The table migration 4 adds, frozen. Never edit: add a migration instead."""

    class Spend(pw.Model):
        game_id = pw.CharField(max_length=36, index=True)
        attempt = pw.IntegerField(default=0)
        batch_id = pw.CharField(max_length=36, null=True, index=True)
        model_id = pw.IntegerField()
        day = pw.CharField(max_length=10, index=True)
        status = pw.CharField(default="reserved")
        reserved = pw.DoubleField()
        cost = pw.DoubleField(default=0.0)
        input_tokens = pw.IntegerField(default=0)
        output_tokens = pw.IntegerField(default=0)
        created_at = pw.DateTimeField(default=utcnow)
        settled_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "spend"
            indexes = ((("model_id", "day"), False),)

    return [Spend]


def _add_spend_ledger(db: pw.Database) -> None:
    db.create_tables(_v4_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("models", "daily_cap", pw.DoubleField(null=True)))


def _add_provider_figures(db: pw.Database) -> None:
    """Migration 5: a model's API (Chat Completions or Responses), and the reasoning
    tokens and provider-reported cost of participants and ledger rows."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("models", "api", pw.CharField(null=True)),
        migrator.add_column("participants", "reasoning_tokens", pw.IntegerField(default=0)),
        migrator.add_column("participants", "provider_cost", pw.DoubleField(null=True)),
        migrator.add_column("spend", "reasoning_tokens", pw.IntegerField(default=0)),
        migrator.add_column("spend", "provider_cost", pw.DoubleField(null=True)),
    )


def _v6_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The table migration 6 adds, frozen. Never edit: add a migration instead."""

    class RequestLimits(pw.Model):
        scope = pw.CharField()
        name = pw.CharField()
        max_concurrency = pw.IntegerField(null=True)
        max_rpm = pw.IntegerField(null=True)
        updated_at = pw.DateTimeField(default=utcnow)

        class Meta:
            database = db
            table_name = "request_limits"
            indexes = ((("scope", "name"), True),)

    return [RequestLimits]


def _add_request_limits(db: pw.Database) -> None:
    db.create_tables(_v6_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("participants", "total_wait_ms", pw.DoubleField(default=0.0)))


def _v7_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The table migration 7 adds, frozen. Never edit: add a migration instead."""

    class PromptVariants(pw.Model):
        name = pw.CharField(max_length=40, primary_key=True)
        template = pw.TextField()
        sha = pw.CharField(max_length=64)
        description = pw.TextField(default="")
        is_active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField(default=utcnow)
        updated_at = pw.DateTimeField(default=utcnow)

        class Meta:
            database = db
            table_name = "prompt_variants"

    return [PromptVariants]


def _add_prompt_variants(db: pw.Database) -> None:
    """The prompt variants: their table, a model's own, and each participant's (with
    its text's hash). Every model participant before this was prompted by the one
    prompt there was, the built-in ``default`` (its hash was not kept: NULL)."""
    db.create_tables(_v7_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("models", "prompt_variant", pw.CharField(null=True)),
        migrator.add_column("participants", "prompt_variant", pw.CharField(null=True)),
        migrator.add_column("participants", "prompt_sha", pw.CharField(max_length=64, null=True)),
        migrator.add_index("participants", ("prompt_variant",), False),
    )
    db.execute_sql(  # type: ignore[no-untyped-call]
        "UPDATE participants SET prompt_variant = 'default' WHERE model_id IN "
        "(SELECT id FROM models WHERE provider <> 'bot')"
    )


def _add_catalog_info(db: pw.Database) -> None:
    """models.catalog_info: what a model list or provider catalogue said about a model
    (context length, supported parameters, the prices' date), kept apart from ``extra``,
    whose every key is sent to the provider as a request field."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("models", "catalog_info", pw.TextField(default="{}")))


def _v9_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The table migration 9 adds, frozen. Never edit: add a migration instead."""

    class AuditLog(pw.Model):
        at = pw.DateTimeField(default=utcnow, index=True)
        actor = pw.CharField()
        action = pw.CharField()
        subject_kind = pw.CharField()
        subject_id = pw.CharField()
        reason = pw.TextField(default="")
        details = pw.TextField(default="{}")

        class Meta:
            database = db
            table_name = "audit_log"
            indexes = ((("subject_kind", "subject_id"), False),)

    return [AuditLog]


def _add_undo(db: pw.Database) -> None:
    """The audit log, and a game's undoing: when, and by which audit row."""
    db.create_tables(_v9_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("games", "undone_at", pw.DateTimeField(null=True)),
        migrator.add_column("games", "undo_entry", pw.IntegerField(null=True)),
    )


def _v10_tables(db: pw.Database) -> list[type[pw.Model]]:
    """The table migration 10 adds, frozen. Never edit: add a migration instead."""

    class WebhookEvents(pw.Model):
        kind = pw.CharField(max_length=40)
        subject = pw.CharField(max_length=80)
        url = pw.TextField()
        payload = pw.TextField(default="{}")
        status = pw.CharField(default="pending", index=True)
        attempts = pw.IntegerField(default=0)
        last_error = pw.TextField(null=True)
        created_at = pw.DateTimeField(default=utcnow)
        delivered_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "webhook_events"
            indexes = ((("kind", "subject", "url"), True),)

    return [WebhookEvents]


def _add_webhooks(db: pw.Database) -> None:
    """Alerts: each batch's own webhook URL, and the events to deliver (docs/WEBHOOKS.md)."""
    db.create_tables(_v10_tables(db), safe=False)
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("batches", "webhook_url", pw.TextField(null=True)))


Migration = tuple[int, str, Callable[[pw.Database], None]]

MIGRATIONS: list[Migration] = [
    (1, "create models, batches, games, participants", _create_v1),
    (2, "create rating_changes and evaluations; games.rating_seq", _create_v2),
    (3, "games.attempt: the fencing token of a game's current run", _add_attempt),
    (4, "spend: the ledger of provider calls; models.daily_cap", _add_spend_ledger),
    (
        5,
        "models.api; reasoning tokens and provider cost of participants, spend",
        _add_provider_figures,
    ),
    (6, "request_limits; participants.total_wait_ms", _add_request_limits),
    (
        7,
        "prompt_variants; models.prompt_variant; participants.prompt_variant, prompt_sha",
        _add_prompt_variants,
    ),
    (8, "models.catalog_info: what a model list or catalogue said", _add_catalog_info),
    (9, "audit_log; games.undone_at, undo_entry: undoing a game", _add_undo),
    (10, "batches.webhook_url; webhook_events", _add_webhooks),
]


def current_version(db: pw.Database) -> int:
    """The highest applied migration, 0 for a database never migrated."""
    if not db.table_exists(VERSION_TABLE):
        return 0
    version = _version_table(db)
    highest = version.select(pw.fn.MAX(version.version)).scalar()
    return int(highest) if highest is not None else 0


def pending_versions(db: pw.Database) -> list[int]:
    """The migrations ``db`` has not had, by number (one read): a database that got 8
    before 7 (branches merged in another order) is behind though its highest is the
    latest."""
    known = sorted(version for version, _, _ in MIGRATIONS)
    if not db.table_exists(VERSION_TABLE):
        return known
    version = _version_table(db)
    applied = {row.version for row in version.select(version.version)}
    return [v for v in known if v not in applied]


def latest_version() -> int:
    """The version :func:`upgrade` brings a database to."""
    return max(version for version, _, _ in MIGRATIONS)


def upgrade(db: pw.Database) -> list[int]:
    """Apply every pending migration, each in its own transaction; return their versions.

    Safe to run repeatedly and from several processes at once: a migration another process
    applied meanwhile is seen (under the lock) and skipped. Each migration is looked up
    by its number, so one numbered below the highest applied still runs.
    """
    version_table = _version_table(db)
    with _locked(db):
        version_table.create_table(safe=True)
    applied: list[int] = []
    for version, _description, apply in sorted(MIGRATIONS, key=lambda m: m[0]):
        with _locked(db):
            # Recorded or not, by number: a database upgraded by a build that had 8 but
            # not yet 7 (branches merged in another order) still gets 7.
            if version_table.get_or_none(version_table.version == version) is not None:
                continue
            apply(db)
            version_table.create(version=version, applied_at=utcnow())
        applied.append(version)
    return applied


@contextmanager
def _locked(db: pw.Database) -> Iterator[None]:
    """A write transaction that only one migrating process at a time can hold."""
    with transaction(immediate=True, db=db):
        if is_postgres(db):
            lock = "SELECT pg_advisory_xact_lock(%s)"
            db.execute_sql(lock, (ADVISORY_LOCK_KEY,))  # type: ignore[no-untyped-call]
        yield


class _SchemaVersion(pw.Model):
    """One row per applied migration; bound to a database by :func:`_version_table`."""

    version = pw.IntegerField(primary_key=True)
    applied_at = pw.DateTimeField()


def _version_table(db: pw.Database) -> type[_SchemaVersion]:
    class SchemaVersion(_SchemaVersion):
        class Meta:
            database = db
            table_name = VERSION_TABLE

    return SchemaVersion
