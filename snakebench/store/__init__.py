"""The database layer: peewee models, schema migrations and the queries the app runs.

Typical start-up::

    from snakebench.store import connect_from_settings, upgrade
    db = connect_from_settings()  # DATABASE_URL, default sqlite:///snakebench.db
    upgrade(db)
"""

from snakebench.config import mask_url
from snakebench.store.db import (
    StoreError,
    connect,
    connect_from_settings,
    database,
    is_postgres,
    is_sqlite,
    transaction,
)
from snakebench.store.migrations import MIGRATIONS, current_version, latest_version, upgrade
from snakebench.store.models import (
    ALL_MODELS,
    FINAL_GAME_STATUSES,
    GAME_STATUSES,
    Batch,
    Game,
    JSONTextField,
    Model,
    Participant,
    new_id,
    utcnow,
)
from snakebench.store.queries import (
    BOT_MODELS,
    PARTICIPANT_STATS,
    GameStateError,
    InactiveModelError,
    UnknownGameError,
    UnknownModelError,
    cancel_game,
    complete_game,
    create_batch,
    create_game,
    ensure_bot_models,
    game_participants,
    get_active_model,
    get_game,
    get_model,
    list_models,
    mark_running,
    save_participants,
    upsert_model,
)
from snakebench.store.setup import open_store, store_exists, upgrade_store

__all__ = [
    "ALL_MODELS",
    "BOT_MODELS",
    "FINAL_GAME_STATUSES",
    "GAME_STATUSES",
    "MIGRATIONS",
    "PARTICIPANT_STATS",
    "Batch",
    "Game",
    "GameStateError",
    "InactiveModelError",
    "JSONTextField",
    "Model",
    "Participant",
    "StoreError",
    "UnknownGameError",
    "UnknownModelError",
    "cancel_game",
    "complete_game",
    "connect",
    "connect_from_settings",
    "create_batch",
    "create_game",
    "current_version",
    "database",
    "ensure_bot_models",
    "game_participants",
    "get_active_model",
    "get_game",
    "get_model",
    "is_postgres",
    "is_sqlite",
    "latest_version",
    "list_models",
    "mark_running",
    "mask_url",
    "new_id",
    "open_store",
    "save_participants",
    "store_exists",
    "transaction",
    "upgrade",
    "upgrade_store",
    "upsert_model",
    "utcnow",
]
