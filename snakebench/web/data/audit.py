"""The audit log and what it says about one game or model: who undid a game, when and
why (the replay page's banner), a model's evaluation resets (its page), the whole log
(``/audit``). The rows come from :func:`snakebench.services.undo.audit_log`, the same
dicts ``snakebench audit --json`` prints."""

from __future__ import annotations

from typing import Any

from snakebench.services.undo import audit_log, entry_dict, game_undo
from snakebench.store import get_game
from snakebench.web.data.common import MAX_LIMIT, require_int, with_store

AUDIT_PAGE = 100
MODEL_RESETS = 10


@with_store
def audit_entries(limit: int = AUDIT_PAGE) -> list[dict[str, Any]]:
    """The newest ``limit`` audit rows, newest first."""
    require_int("limit", limit, 1, MAX_LIMIT)
    return audit_log(limit)


@with_store
def game_undone(game_id: str) -> dict[str, Any] | None:
    """The audit row that undid the game (None: it counts); an unknown id is a
    :class:`snakebench.store.UnknownGameError`."""
    entry = game_undo(get_game(game_id))
    return None if entry is None else entry_dict(entry)


@with_store
def evaluation_resets(name: str) -> list[dict[str, Any]]:
    """The model's evaluation resets, newest first."""
    rows = audit_log(MODEL_RESETS, kind="model", subject=name)
    return [row for row in rows if row["action"] == "reset-evaluation"]
