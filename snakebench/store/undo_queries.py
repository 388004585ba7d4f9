"""Undoing games by hand, and the audit log that records it: every statement of
:mod:`snakebench.services.undo`.

An undone game stays stored (its row, participants and replay) with ``undone_at`` and
``undo_entry`` set; :mod:`snakebench.store.counted` then leaves it out of every count.
Undoing and restoring write, in ONE transaction: the audit row, the games' marks, the
models' counters (``wins``, ``games_played``... as :func:`complete_game` added them)
and the ratings, rebuilt without (or with) the games by
:func:`snakebench.store.rating_queries.rebuild_trueskill`. The models are locked first,
in id order, as a completion locks them, so a worker finishing a game meanwhile waits
rather than deadlocks, and its update lands on the rebuilt ratings.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from snakebench.store.counted import counted
from snakebench.store.db import transaction
from snakebench.store.models import AuditEntry, Evaluation, Game, Model, Participant, utcnow
from snakebench.store.rating_queries import RebuildReport, locked_models, rebuild_trueskill


@dataclass(frozen=True)
class AuditNote:
    """What an audit row says, before it is written."""

    actor: str
    action: str
    subject_kind: str
    subject_id: str
    reason: str
    details: dict[str, Any]


def set_undone(
    game_ids: Sequence[str], note: AuditNote, *, untested: int | None = None
) -> tuple[AuditEntry, RebuildReport]:
    """Undo the counted games ``game_ids`` (all of them or none: one transaction),
    record ``note`` and rebuild the ratings without them; with ``untested`` (a model
    id) that model's placement is dropped too (``test_status`` back to untested)."""
    with transaction(immediate=True):
        before = _lock_all_models()
        entry = _write(note)
        changed = (
            Game.update(undone_at=entry.at, undo_entry=entry.id)
            .where(Game.id.in_(list(game_ids)) & counted())
            .execute()
        )
        if changed != len(set(game_ids)):
            raise RuntimeError("a game to undo changed meanwhile; nothing was undone")
        _count_again(game_ids, -1)
        if untested is not None:
            Model.update(test_status="untested", updated_at=utcnow()).where(
                Model.id == untested
            ).execute()
        return _rebuilt(entry, before)


def clear_undone(game_id: str, note: AuditNote) -> tuple[AuditEntry, RebuildReport]:
    """Restore an undone game: it counts again, ratings rebuilt with it (in the order
    it was first rated), and ``note`` recorded; one transaction."""
    with transaction(immediate=True):
        before = _lock_all_models()
        entry = _write(note)
        changed = (
            Game.update(undone_at=None, undo_entry=None)
            .where((Game.id == game_id) & Game.undone_at.is_null(False))
            .execute()
        )
        if changed != 1:
            raise RuntimeError(f"game {game_id} was restored meanwhile; nothing was changed")
        _count_again([game_id], +1)
        return _rebuilt(entry, before)


def _lock_all_models() -> dict[str, tuple[float, float]]:
    """Lock every model (in id order, as completions do); their (mu, sigma) by name."""
    models = locked_models(model.id for model in Model.select(Model.id))
    return {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in models.values()}


def _rebuilt(
    entry: AuditEntry, before: dict[str, tuple[float, float]]
) -> tuple[AuditEntry, RebuildReport]:
    """Rebuild the ratings and keep, on the audit row, each model's that changed:
    ``details["ratings"][name] = [mu before, sigma before, mu after, sigma after]``."""
    report = rebuild_trueskill()
    after = {m.name: (m.trueskill_mu, m.trueskill_sigma) for m in Model.select()}
    entry.details = {
        **entry.details,
        "ratings": {
            name: [*old, *after[name]]
            for name, old in sorted(before.items())
            if name in after and after[name] != old
        },
    }
    AuditEntry.update(details=entry.details).where(AuditEntry.id == entry.id).execute()
    return entry, report


def _write(note: AuditNote) -> AuditEntry:
    entry: AuditEntry = AuditEntry.create(
        at=utcnow(),
        actor=note.actor,
        action=note.action,
        subject_kind=note.subject_kind,
        subject_id=note.subject_id,
        reason=note.reason,
        details=note.details,
    )
    return entry


def _count_again(game_ids: Sequence[str], sign: int) -> None:
    """Take the games' results off their models' counters (``sign`` -1) or put them
    back (+1), as :func:`snakebench.store.queries.complete_game` added them (the last
    time played is left as it is)."""
    query = Participant.select().where(Participant.game.in_(list(game_ids)))
    for p in query:
        Model.update(
            {
                Model.wins: Model.wins + sign * (p.result == "won"),
                Model.losses: Model.losses + sign * (p.result == "lost"),
                Model.ties: Model.ties + sign * (p.result == "tied"),
                Model.apples_eaten: Model.apples_eaten + sign * p.score,
                Model.games_played: Model.games_played + sign,
                Model.updated_at: utcnow(),
            }
        ).where(Model.id == p.model_id).execute()


# --- reads ------------------------------------------------------------------------------


def evaluation_game_ids(model_id: int) -> list[str]:
    """The counted games of the model's placement ladders (every evaluation's batch),
    oldest first."""
    batches = Evaluation.select(Evaluation.batch).where(
        (Evaluation.model == model_id) & Evaluation.batch.is_null(False)
    )
    played = Participant.select(Participant.game).where(Participant.model == model_id)
    query = (
        Game.select(Game.id)
        .where(Game.batch.in_(batches) & Game.id.in_(played) & counted())
        .order_by(Game.created_at, Game.id)
    )
    return [game.id for game in query]


def lineup_names(game_ids: Iterable[str]) -> dict[int, str]:
    """The names of the models that played ``game_ids``, by model id."""
    played = Participant.select(Participant.model).where(Participant.game.in_(list(game_ids)))
    return {m.id: m.name for m in Model.select(Model.id, Model.name).where(Model.id.in_(played))}


def audit_entries(
    limit: int, *, kind: str | None = None, subject: str | None = None
) -> list[AuditEntry]:
    """The newest ``limit`` audit rows (of one subject, when given), newest first."""
    query = AuditEntry.select()
    if kind is not None:
        query = query.where(AuditEntry.subject_kind == kind)
    if subject is not None:
        query = query.where(AuditEntry.subject_id == subject)
    return list(query.order_by(AuditEntry.id.desc()).limit(limit))


def audit_entry(entry_id: int | None) -> AuditEntry | None:
    """The audit row ``entry_id``, if there is one."""
    if entry_id is None:
        return None
    found: AuditEntry | None = AuditEntry.get_or_none(AuditEntry.id == entry_id)
    return found
