"""What the web shows, as plain JSON-ready dicts: shared by the JSON API and the pages.

Every function reads the database (and, for live boards, Redis) and returns dicts and
lists only, so the API serialises them as they are and the templates walk them without
touching peewee. Timestamps are ISO 8601 strings in UTC with an explicit offset.

Inside a Flask app the app's services open the database on first use; outside one the
caller opens the store first (:func:`snakebench.store.open_store`). Unknown ids and names
raise the store's :class:`UnknownGameError`, :class:`UnknownModelError` or
:class:`UnknownBatchError` (all ``LookupError``: a 404); bad arguments raise
:class:`InvalidArgument` (a ``ValueError`` naming the field: a 422).
"""

from snakebench.store import UnknownBatchError, UnknownGameError, UnknownModelError
from snakebench.web.data.audit import audit_entries, evaluation_resets, game_undone
from snakebench.web.data.batches import batch_detail, list_batches
from snakebench.web.data.common import (
    MAX_LIMIT,
    MAX_PAGE,
    MAX_PER_PAGE,
    InvalidArgument,
    ReplayUnavailableError,
    iso,
)
from snakebench.web.data.games import game_detail, game_replay, game_summary, list_games
from snakebench.web.data.highlights import model_games, site_totals
from snakebench.web.data.live import live_game, live_games
from snakebench.web.data.models import model_detail
from snakebench.web.data.ratings import leaderboard, prompt_variant_names

__all__ = [
    "MAX_LIMIT",
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "InvalidArgument",
    "ReplayUnavailableError",
    "UnknownBatchError",
    "UnknownGameError",
    "UnknownModelError",
    "audit_entries",
    "batch_detail",
    "evaluation_resets",
    "game_detail",
    "game_replay",
    "game_summary",
    "game_undone",
    "iso",
    "leaderboard",
    "list_batches",
    "list_games",
    "live_game",
    "live_games",
    "model_detail",
    "model_games",
    "prompt_variant_names",
    "site_totals",
]
