"""The tables: models (players), batches, games and their participants.

Every model binds to :data:`snakebench.store.db.database`, so the same classes work on
SQLite and PostgreSQL. The schema itself is created by :mod:`snakebench.store.migrations`,
never by ``create_tables`` on these classes (a frozen copy there keeps migration 1 stable
when these classes grow).

Timestamps are **naive UTC** (:func:`utcnow`): SQLite stores a ``DateTimeField`` as text
and PostgreSQL as ``TIMESTAMP`` (without time zone); naive UTC round-trips identically on
both, while an aware value would come back as a different type from each.
Money and ratings are ``DoubleField`` so PostgreSQL stores them in double precision
(peewee's ``FloatField`` maps to single-precision ``REAL`` there).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import peewee as pw

from snakebench.store.db import database

GAME_STATUSES = ("queued", "running", "completed", "void", "failed", "cancelled")
ACTIVE_GAME_STATUSES = ("queued", "running")
FINAL_GAME_STATUSES = ("completed", "void", "failed", "cancelled")
RESULTS = ("won", "lost", "tied")
TEST_STATUSES = ("untested", "testing", "ranked", "retired")
BATCH_STATUSES = ("active", "finished", "cancelled")
EVALUATION_STATUSES = ("queued", "running", "finished", "cancelled", "failed")

TRUESKILL_MU = 25.0
TRUESKILL_SIGMA = 25.0 / 3.0
ELO_START = 1500.0


def utcnow() -> datetime:
    """Now, as the naive UTC datetime every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    """A fresh 36-character uuid4 string, the primary key of games and batches."""
    return str(uuid.uuid4())


if TYPE_CHECKING:  # peewee's stubs make Field generic; the runtime class is not.
    _JSONFieldBase = pw.Field[dict[str, Any]]
else:
    _JSONFieldBase = pw.Field


class JSONTextField(_JSONFieldBase):
    """A JSON object stored as TEXT, identical on SQLite and PostgreSQL.

    Plain text rather than JSONB: nothing queries inside these values (provider kwargs,
    batch parameters), and one representation keeps both backends and dumps alike.
    """

    field_type = "TEXT"

    def db_value(self, value: dict[str, Any] | None) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def python_value(self, value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        loaded: dict[str, Any] = json.loads(value)
        return loaded


class BaseModel(pw.Model):
    class Meta:
        database = database

    @classmethod
    def get_or_raise(cls, row_id: object, error: Exception) -> Any:
        """The row whose primary key is ``row_id``, else ``error`` raised: the one
        shape of every ``get_batch``/``get_game``/``get_evaluation``."""
        found = cls.get_or_none(cls._meta.primary_key == row_id)
        if found is None:
            raise error
        return found


class Model(BaseModel):
    """A player: an LLM behind a provider, or a built-in bot (provider ``bot``).

    ``api_key_env`` is the NAME of the environment variable holding the key; keys are
    never stored here (nor in Redis or replays).
    """

    id = pw.AutoField()
    name = pw.CharField(unique=True)
    provider = pw.CharField()  # openai | anthropic | openrouter | ollama | bot | ...
    model_slug = pw.CharField()  # the provider's own model id
    base_url = pw.CharField(null=True)
    api_key_env = pw.CharField(null=True)
    price_input_per_m = pw.DoubleField(default=0.0)  # USD per million input tokens
    price_output_per_m = pw.DoubleField(default=0.0)
    max_completion_tokens = pw.IntegerField(null=True)
    extra = JSONTextField(default=dict)  # request options: reasoning_effort, OpenRouter's...
    api = pw.CharField(null=True)  # None: the provider's native API; "chat" | "responses"
    daily_cap = pw.DoubleField(null=True)  # USD this model may spend per UTC day
    prompt_variant = pw.CharField(null=True)  # its prompts' variant by default; None: "default"
    is_active = pw.BooleanField(default=True)
    test_status = pw.CharField(default="untested")  # one of TEST_STATUSES
    trueskill_mu = pw.DoubleField(default=TRUESKILL_MU)
    trueskill_sigma = pw.DoubleField(default=TRUESKILL_SIGMA)
    trueskill_exposed = pw.DoubleField(default=0.0)  # mu - 3 sigma
    elo_rating = pw.DoubleField(default=ELO_START)
    wins = pw.IntegerField(default=0)
    losses = pw.IntegerField(default=0)
    ties = pw.IntegerField(default=0)
    apples_eaten = pw.IntegerField(default=0)
    games_played = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    last_played_at = pw.DateTimeField(null=True)
    # What the model list or provider catalogue said about the model that is not a request
    # field: context length, supported parameters, the prices' date. Never sent to the
    # provider (``extra`` is), so it may hold anything a catalogue reports.
    catalog_info = JSONTextField(default=dict)

    class Meta:
        table_name = "models"

    def save(self, force_insert: bool = False, only: Any = None) -> int:
        """Saving bumps ``updated_at``; bulk ``update()`` queries must set it themselves."""
        self.updated_at = utcnow()
        if only is not None:
            only = [*only, Model.updated_at]
        return super().save(force_insert=force_insert, only=only)

    @property
    def standing(self) -> str:
        """Where the model stands, in one word for lists: ``retired`` (results out of the
        ratings), ``removed`` (inactive), ``bot``, ``testing`` (a placement running),
        ``ranked`` (placed), ``rated`` (rated games, never placed by ``evaluate``) or
        ``untested`` (no games yet). ``test_status`` alone is only the placement's."""
        if self.test_status == "retired":
            return "retired"
        if not self.is_active:
            return "removed"
        if self.provider == "bot":
            return "bot"
        if self.test_status in ("testing", "ranked"):
            return str(self.test_status)
        return "rated" if self.games_played else "untested"


class Batch(BaseModel):
    """One dispatch: its progress lives in these counters, so monitoring is O(1)."""

    id = pw.CharField(max_length=36, primary_key=True, default=new_id)
    name = pw.CharField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    status = pw.CharField(default="active")  # one of BATCH_STATUSES
    params = JSONTextField(default=dict)
    total_games = pw.IntegerField(default=0)
    queued = pw.IntegerField(default=0)
    running = pw.IntegerField(default=0)
    completed = pw.IntegerField(default=0)
    failed = pw.IntegerField(default=0)
    void = pw.IntegerField(default=0)
    cancelled = pw.IntegerField(default=0)
    total_cost = pw.DoubleField(default=0.0)
    max_cost = pw.DoubleField(null=True)
    # Where this batch's events are POSTed, besides SNAKEBENCH_WEBHOOK_URL (migration 10).
    webhook_url = pw.TextField(null=True)

    class Meta:
        table_name = "batches"


class Game(BaseModel):
    """One game; its id is also its RQ job id. Status moves queued -> running -> final."""

    id = pw.CharField(max_length=36, primary_key=True, default=new_id)
    seed = pw.BigIntegerField()
    status = pw.CharField(default="queued", index=True)  # one of GAME_STATUSES
    game_type = pw.CharField(default="ladder")
    batch = pw.ForeignKeyField(Batch, null=True, backref="games", on_delete="SET NULL")
    batch_id: str | None
    width = pw.IntegerField(default=10)
    height = pw.IntegerField(default=10)
    num_apples = pw.IntegerField(default=5)
    max_rounds = pw.IntegerField(default=100)
    apple_target = pw.IntegerField(default=30)
    double_death = pw.CharField(default="score")  # score | tie: how a double death ends
    invalid_move_policy = pw.CharField(default="random")
    rounds = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    started_at = pw.DateTimeField(null=True)
    ended_at = pw.DateTimeField(null=True)
    replay_path = pw.CharField(null=True)
    total_cost = pw.DoubleField(default=0.0)
    error = pw.TextField(null=True)
    worker = pw.TextField(null=True)
    # The fencing token of the game's current run: every start takes the next number,
    # and so does every re-enqueue; a run holding an older one is stale and records
    # nothing (see snakebench.store.queries.mark_running).
    attempt = pw.IntegerField(default=0)
    # The order ratings apply in: set when the game is first rated, kept ever after, so
    # a rebuild (even after a model's retirement and return) replays the same order.
    rating_seq = pw.BigIntegerField(null=True, index=True)
    # Set when the game was undone (``snakebench games undo``): it stays stored and
    # listed, but no longer counts anywhere (store/counted.py); ``undo_entry`` is the id
    # of the audit row that undid it. Both NULL again once restored.
    undone_at = pw.DateTimeField(null=True)
    undo_entry = pw.IntegerField(null=True)

    class Meta:
        table_name = "games"


class Participant(BaseModel):
    """One model in one game, at one slot (snake id). Rows exist from game creation on,
    so a worker learns the line-up from the game id alone; results fill in at completion.
    """

    id = pw.AutoField()
    game = pw.ForeignKeyField(Game, backref="participants", on_delete="CASCADE")
    game_id: str
    model = pw.ForeignKeyField(Model, backref="participations")
    model_id: int
    slot = pw.IntegerField()
    score = pw.IntegerField(default=0)
    result = pw.CharField(null=True)  # won | lost | tied
    death_round = pw.IntegerField(null=True)
    death_reason = pw.CharField(null=True)
    cost = pw.DoubleField(default=0.0)
    input_tokens = pw.IntegerField(default=0)
    output_tokens = pw.IntegerField(default=0)
    reasoning_tokens = pw.IntegerField(default=0)  # of output_tokens
    provider_cost = pw.DoubleField(null=True)  # USD the provider reported (OpenRouter)
    invalid_moves = pw.IntegerField(default=0)
    fallback_parses = pw.IntegerField(default=0)
    moves = pw.IntegerField(default=0)
    total_latency_ms = pw.DoubleField(default=0.0)
    # Milliseconds its moves waited for a provider slot (request limits), apart from latency.
    total_wait_ms = pw.DoubleField(default=0.0)
    # The prompt variant the player was prompted with (fixed when the game is written;
    # None for a bot, which is not prompted), and the SHA-256 of the variant's text as
    # the run that recorded the result used it (None: no prompt sent, or a game
    # recorded before the hash was kept).
    prompt_variant = pw.CharField(null=True, index=True)
    prompt_sha = pw.CharField(max_length=64, null=True)

    class Meta:
        table_name = "participants"
        indexes = ((("game", "slot"), True),)


class RatingChange(BaseModel):
    """One model's TrueSkill update from one game: written with the game's completion.

    ``UNIQUE (game, model)`` makes a second update of the same game impossible, and the
    before/after pairs draw a model's rating over time. (The order updates apply in is
    the game's ``rating_seq``, which survives a rebuild.)
    """

    id = pw.AutoField()
    game = pw.ForeignKeyField(Game, backref="rating_changes", on_delete="CASCADE")
    game_id: str
    model = pw.ForeignKeyField(Model, backref="rating_changes", on_delete="CASCADE")
    model_id: int
    mu_before = pw.DoubleField()
    sigma_before = pw.DoubleField()
    mu_after = pw.DoubleField()
    sigma_after = pw.DoubleField()
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "rating_changes"
        indexes = ((("game", "model"), True),)


class Evaluation(BaseModel):
    """A placement ladder: ``games_target`` games of one model, each opponent chosen when
    the previous game ends. Its games belong to ``batch``, so ``dispatch monitor`` works.
    """

    id = pw.AutoField()
    model = pw.ForeignKeyField(Model, backref="evaluations", on_delete="CASCADE")
    model_id: int
    batch = pw.ForeignKeyField(Batch, null=True, backref="evaluations", on_delete="SET NULL")
    batch_id: str | None
    games_target = pw.IntegerField(default=10)
    games_started = pw.IntegerField(default=0)
    status = pw.CharField(default="queued")  # one of EVALUATION_STATUSES
    error = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "evaluations"


SPEND_STATUSES = ("reserved", "answered", "error")


class Spend(BaseModel):
    """The spend ledger: one row per provider call, written BEFORE the call (once a
    spending cap has made room for it; see :mod:`snakebench.games.spending`).

    A row starts ``reserved`` at the call's worst case (``reserved``: its prompt's bytes
    as input tokens plus the model's output cap, at its prices) and is settled after the
    call: ``answered`` with the usage the provider reported and its ``cost``, or
    ``error`` (no reply, nothing billed); the settlement is written with the player's
    next call, or when the game is over (``settled_at`` is when the call ended). A run
    killed mid-call, or before its settlement was written, leaves its row ``reserved``,
    counted at the worst case: the ledger may overstate what was billed, never
    understate it.
    No foreign keys: the ledger outlives games and batches deleted later.
    """

    id = pw.AutoField()
    game_id = pw.CharField(max_length=36, index=True)
    attempt = pw.IntegerField(default=0)
    batch_id = pw.CharField(max_length=36, null=True, index=True)
    model_id = pw.IntegerField()
    day = pw.CharField(max_length=10, index=True)  # the UTC date of the reservation
    status = pw.CharField(default="reserved")  # one of SPEND_STATUSES
    reserved = pw.DoubleField()
    cost = pw.DoubleField(default=0.0)
    input_tokens = pw.IntegerField(default=0)
    output_tokens = pw.IntegerField(default=0)
    reasoning_tokens = pw.IntegerField(default=0)  # of output_tokens
    # What the provider itself reported the call cost (OpenRouter's usage accounting);
    # None where it reports nothing. ``cost`` is ours, from the model's prices.
    provider_cost = pw.DoubleField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    settled_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "spend"
        indexes = ((("model_id", "day"), False),)


LIMIT_SCOPES = ("provider", "model")


class RequestLimit(BaseModel):
    """A cap on provider requests that every worker keeps (see
    :mod:`snakebench.games.request_limits`): at most ``max_concurrency`` requests in
    flight and at most ``max_rpm`` started in any 60 seconds, for every model of a
    provider (``scope`` provider) or for one model (``scope`` model). Kept in the
    database, not in each worker's environment, so that every worker on every machine
    holds the same limits."""

    id = pw.AutoField()
    scope = pw.CharField()  # one of LIMIT_SCOPES
    name = pw.CharField()  # the provider's name, or the model's
    max_concurrency = pw.IntegerField(null=True)
    max_rpm = pw.IntegerField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "request_limits"
        indexes = ((("scope", "name"), True),)


class PromptVariantRow(BaseModel):
    """A prompt variant added from a file (``snakebench prompts add``); the built-in
    ones are code (:mod:`snakebench.players.prompt_variants`), never rows. Stored here
    so that every worker, on any machine, builds the same prompt from the name a game
    carries. One that games used is only deactivated on removal (``is_active``)."""

    name = pw.CharField(max_length=40, primary_key=True)
    template = pw.TextField()
    sha = pw.CharField(max_length=64)  # SHA-256 of the template's UTF-8 text
    description = pw.TextField(default="")
    is_active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "prompt_variants"


AUDIT_ACTIONS = ("undo-game", "restore-game", "reset-evaluation")


class AuditEntry(BaseModel):
    """One change to what counts, by hand: who (``actor``), when (``at``), why
    (``reason``), what (``action`` on ``subject_kind`` ``subject_id``: a game's id, a
    model's name) and its figures (``details``: the games touched, rating deltas).
    Written in the same transaction as the change (:mod:`snakebench.store.undo_queries`)."""

    id = pw.AutoField()
    at = pw.DateTimeField(default=utcnow, index=True)
    actor = pw.CharField()
    action = pw.CharField()  # one of AUDIT_ACTIONS
    subject_kind = pw.CharField()  # game | model
    subject_id = pw.CharField()
    reason = pw.TextField(default="")
    details = JSONTextField(default=dict)

    class Meta:
        table_name = "audit_log"
        indexes = ((("subject_kind", "subject_id"), False),)


WEBHOOK_STATUSES = ("pending", "delivered", "failed")


class WebhookEvent(BaseModel):
    """One event for one URL (docs/WEBHOOKS.md): what is POSTed (``payload``, kept as
    sent) and how its delivery went. ``(kind, subject, url)`` is unique, so an event
    (a batch finishing, a game failing) is recorded once per URL whoever notices it.
    Recorded only when a URL is configured; delivered rows go after 30 days."""

    id = pw.AutoField()
    kind = pw.CharField(max_length=40)  # batch.finished | evaluation.finished | ...
    subject = pw.CharField(max_length=80)  # the batch, evaluation or game id it is about
    url = pw.TextField()
    payload = JSONTextField(default=dict)
    status = pw.CharField(default="pending", index=True)  # one of WEBHOOK_STATUSES
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    delivered_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "webhook_events"
        indexes = ((("kind", "subject", "url"), True),)


ALL_MODELS: list[type[BaseModel]] = [
    Model, Batch, Game, Participant, RatingChange, Evaluation, Spend, RequestLimit,
    PromptVariantRow, WebhookEvent,
    AuditEntry,
]  # fmt: skip
