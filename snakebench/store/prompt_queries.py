"""Prompt variants in the database: the stored ones (``prompt_variants``), and which
variant each player of a game is prompted with (``participants.prompt_variant``).

The templates themselves are checked and rendered by
:mod:`snakebench.players.prompt_variants`; this module only keeps their text, its
hash, and the counts that decide whether one may be removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from snakebench.options import DEFAULT_PROMPT_VARIANT
from snakebench.store.db import transaction
from snakebench.store.models import Model, Participant, PromptVariantRow, utcnow


def lineup_prompt_variant(model: Model, override: str | None) -> str | None:
    """The variant ``model`` is prompted with in a game written now: the game's
    ``override``, else the model's own, else ``default``; None for a bot (never
    prompted). Fixed on the participant row when the game is written, so a model's
    default changed later does not change games already queued."""
    if model.provider == "bot":
        return None
    return override or model.prompt_variant or DEFAULT_PROMPT_VARIANT


def lineup_prompt_variants(model_ids: Iterable[int], override: str | None) -> dict[int, str | None]:
    """:func:`lineup_prompt_variant` of each model id, in one query."""
    models = Model.select(Model.id, Model.provider, Model.prompt_variant).where(
        Model.id.in_(list(set(model_ids)))
    )
    return {model.id: lineup_prompt_variant(model, override) for model in models}


def stored_prompt_variant(name: str) -> PromptVariantRow | None:
    """The stored variant ``name`` (active or not), if there is one."""
    row: PromptVariantRow | None = PromptVariantRow.get_or_none(PromptVariantRow.name == name)
    return row


def stored_prompt_variants() -> list[PromptVariantRow]:
    """Every stored variant, removed (inactive) ones included, by name."""
    return list(PromptVariantRow.select().order_by(PromptVariantRow.name))


def save_prompt_variant(name: str, *, template: str, sha: str, description: str) -> None:
    """Store the variant ``name`` (active), or replace the text of the stored one."""
    now = utcnow()
    values = {"template": template, "sha": sha, "description": description,
              "is_active": True, "updated_at": now}  # fmt: skip
    with transaction(immediate=True):
        PromptVariantRow.insert(name=name, created_at=now, **values).on_conflict(
            conflict_target=[PromptVariantRow.name], update=values
        ).execute()


def set_prompt_variant_active(name: str, active: bool) -> None:
    PromptVariantRow.update(is_active=active, updated_at=utcnow()).where(
        PromptVariantRow.name == name
    ).execute()


def delete_prompt_variant(name: str) -> None:
    """Delete the stored variant: only for one no game and no model names."""
    PromptVariantRow.delete().where(PromptVariantRow.name == name).execute()


@dataclass(frozen=True)
class PromptVariantUse:
    """Who names a variant: how many players of games (any status) were or will be
    prompted with it, and the models whose own variant it is."""

    players: int
    models: tuple[str, ...]


def prompt_variant_use(names: Iterable[str]) -> dict[str, PromptVariantUse]:
    """:class:`PromptVariantUse` of each of ``names``, in two grouped queries."""
    wanted = list(names)
    counted: Any = (
        Participant.select(Participant.prompt_variant, pw.fn.COUNT(Participant.id))
        .where(Participant.prompt_variant.in_(wanted))
        .group_by(Participant.prompt_variant)
    )
    players: dict[str, int] = dict(counted.tuples())
    models: dict[str, list[str]] = {}
    named: Any = Model.select(Model.prompt_variant, Model.name)
    for variant, model in (
        named.where(Model.prompt_variant.in_(wanted)).order_by(Model.name).tuples()
    ):
        models.setdefault(variant, []).append(model)
    return {
        name: PromptVariantUse(int(players.get(name, 0)), tuple(models.get(name, ())))
        for name in wanted
    }
