"""Undo without retiring: take one game, or a model's placement, out of the ratings.

The original's only undo was to retire a model (every result of it out). Here one
game can be undone (:func:`undo_game`): it stays stored and listed, marked undone, and
counts nowhere (:mod:`snakebench.store.counted`); the ratings are rebuilt without it
by the same replay ``snakebench ratings rebuild`` runs, so every rating from that game
on is as if it had never been played, and ``ratings rebuild --check`` agrees after.
:func:`restore_game` reverses it. :func:`reset_evaluation` undoes a model's placement
games the same way and sets it back to ``untested``, so ``evaluate`` places it anew.

Each change writes an audit row (who, when, why, the games and the rating deltas) in
its own transaction (:mod:`snakebench.store.undo_queries`). A dry run computes the
same deltas from a replay without the games and writes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC
from typing import Any

from snakebench.store import Game, get_game, get_model, list_models
from snakebench.store.evaluation_queries import live_evaluation_of
from snakebench.store.models import AuditEntry
from snakebench.store.rating_queries import RETIRED, replay_trueskill
from snakebench.store.undo_queries import (
    AuditNote,
    audit_entries,
    audit_entry,
    clear_undone,
    evaluation_game_ids,
    lineup_names,
    set_undone,
)


class UndoError(ValueError):
    """An undo, restore or reset that cannot be done as asked (one line: exit 2)."""


@dataclass(frozen=True)
class RatingDelta:
    """One model's TrueSkill before and after (rating: mu - 3 sigma)."""

    model: str
    mu_before: float
    sigma_before: float
    mu_after: float
    sigma_after: float

    @property
    def rating_before(self) -> float:
        return self.mu_before - 3 * self.sigma_before

    @property
    def rating_after(self) -> float:
        return self.mu_after - 3 * self.sigma_after

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rating_before": self.rating_before,
            "rating_after": self.rating_after,
        }


@dataclass(frozen=True)
class UndoOutcome:
    """What an undo, restore or reset did (or, ``dry_run``, would do): its audit row
    (None on a dry run), the games, and every rating it changed."""

    action: str
    subject: str
    games: tuple[str, ...]
    deltas: tuple[RatingDelta, ...]
    dry_run: bool
    entry_id: int | None = None
    rated_games: int | None = None  # the games the ratings were rebuilt from

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "subject": self.subject,
            "games": list(self.games),
            "deltas": [delta.to_dict() for delta in self.deltas],
            "dry_run": self.dry_run,
            "audit_id": self.entry_id,
            "rated_games": self.rated_games,
        }


def undo_game(game_id: str, *, reason: str, actor: str, dry_run: bool = False) -> UndoOutcome:
    """Take the completed game ``game_id`` out of every count and rating."""
    game = get_game(game_id)
    _check_undoable(game)
    note = _note(actor, "undo-game", "game", game.id, reason)
    return _undo([game.id], note, dry_run=dry_run)


def restore_game(game_id: str, *, reason: str, actor: str) -> UndoOutcome:
    """Make the undone game ``game_id`` count again."""
    game = get_game(game_id)
    if game.undone_at is None:
        raise UndoError(f"game {game.id} is not undone")
    entry, report = clear_undone(game.id, _note(actor, "restore-game", "game", game.id, reason))
    return _outcome(entry, (game.id,), rated=report.games)


def reset_evaluation(
    model_name: str, *, reason: str, actor: str, dry_run: bool = False
) -> UndoOutcome:
    """Undo the model's placement games (its evaluations' games) and set it back to
    ``untested``."""
    model = get_model(model_name)
    if model.test_status == RETIRED:
        raise UndoError(f"model {model.name} is retired; restore it first")
    if live_evaluation_of(model) is not None:
        raise UndoError(
            f"model {model.name} is being evaluated; cancel that first "
            f"(snakebench evaluate --cancel {model.name})"
        )
    games = evaluation_game_ids(model.id)
    if not games and model.test_status == "untested":
        raise UndoError(f"model {model.name} has no evaluation to reset")
    note = _note(
        actor,
        "reset-evaluation",
        "model",
        model.name,
        reason,
        test_status_before=model.test_status,
    )
    return _undo(games, note, dry_run=dry_run, untested=model.id)


def audit_log(
    limit: int, *, kind: str | None = None, subject: str | None = None
) -> list[dict[str, Any]]:
    """The newest ``limit`` audit rows (of one subject, when given), newest first, as
    JSON-ready dicts (the CLI's ``--json``, the web's /audit)."""
    return [entry_dict(entry) for entry in audit_entries(limit, kind=kind, subject=subject)]


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    """An audit row as JSON; ``game_count``: the games it undid or restored;
    ``rating_changes``: each model's TrueSkill it changed, before and after."""
    details: dict[str, Any] = entry.details or {}
    games = details.get("games")
    count = len(games) if isinstance(games, list) else int(entry.subject_kind == "game")
    return {
        "id": entry.id,
        "at": entry.at.replace(tzinfo=UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "reason": entry.reason,
        "details": details,
        "game_count": count,
        "rating_changes": [delta.to_dict() for delta in rating_deltas(details)],
    }


def game_undo(game: Game) -> AuditEntry | None:
    """The audit row that undid ``game`` (None: it counts)."""
    if game.undone_at is None:
        return None
    return audit_entry(game.undo_entry)


# --- the parts --------------------------------------------------------------------------


def _check_undoable(game: Game) -> None:
    if game.undone_at is not None:
        entry = audit_entry(game.undo_entry)
        by = f" by {entry.actor}" if entry is not None else ""
        raise UndoError(
            f"game {game.id} was already undone on {game.undone_at:%Y-%m-%d %H:%M:%S} UTC{by}"
            f"; snakebench games restore {game.id} brings it back"
        )
    if game.status != "completed":
        raise UndoError(
            f"game {game.id} is {game.status}: only a completed game counts, and can be undone"
        )


def _note(
    actor: str, action: str, kind: str, subject: str, reason: str, **details: Any
) -> AuditNote:
    actor, reason = actor.strip(), reason.strip()
    if not actor:
        raise UndoError("who did it must be named: --by NAME")
    if not reason and action != "restore-game":
        raise UndoError("say why, for the audit log: --reason TEXT")
    return AuditNote(actor, action, kind, subject, reason, dict(details))


def _undo(
    games: list[str], note: AuditNote, *, dry_run: bool, untested: int | None = None
) -> UndoOutcome:
    if dry_run:
        models = list_models()  # by name
        after = replay_trueskill(games)
        deltas = tuple(
            RatingDelta(m.name, m.trueskill_mu, m.trueskill_sigma, *after[m.id])
            for m in models
            if (m.trueskill_mu, m.trueskill_sigma) != tuple(after[m.id])
        )
        return UndoOutcome(note.action, note.subject_id, tuple(games), deltas, dry_run=True)
    note.details["games"] = games
    note.details["models"] = sorted(lineup_names(games).values())
    entry, report = set_undone(games, note, untested=untested)
    return _outcome(entry, tuple(games), rated=report.games)


def _outcome(entry: AuditEntry, games: tuple[str, ...], rated: int) -> UndoOutcome:
    """What was done, its rating deltas as the audit row keeps them."""
    return UndoOutcome(
        str(entry.action),
        str(entry.subject_id),
        games,
        rating_deltas(entry.details or {}),
        dry_run=False,
        entry_id=int(entry.id),
        rated_games=rated,
    )


def rating_deltas(details: dict[str, Any]) -> tuple[RatingDelta, ...]:
    """The rating deltas an audit row's ``details`` keep, by model name."""
    ratings = details.get("ratings") or {}
    return tuple(RatingDelta(name, *map(float, values)) for name, values in sorted(ratings.items()))
