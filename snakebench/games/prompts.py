"""Every prompt variant a game can be played with, found by name: the built-in ones
(:data:`snakebench.players.prompt_variants.BUILTIN_VARIANTS`) and the stored ones
(``snakebench prompts add``). A worker builds its players' prompts from here, with
nothing but the name on the participant row, so every machine prompts alike."""

from __future__ import annotations

from snakebench.players.prompt_variants import (
    BUILTIN_VARIANTS,
    PromptVariant,
    PromptVariantError,
    UnknownPromptVariantError,
    make_variant,
)
from snakebench.store import (
    Model,
    PromptVariantRow,
    lineup_prompt_variant,
    stored_prompt_variant,
    stored_prompt_variants,
)

__all__ = [
    "PromptVariant",
    "PromptVariantError",
    "UnknownPromptVariantError",
    "known_prompt_variants",
    "lineup_prompt",
    "prompt_variant",
    "usable_prompt_variant",
]


def prompt_variant(name: str) -> PromptVariant:
    """The variant ``name``, a removed one included (its games still name it);
    :class:`UnknownPromptVariantError` lists the known names."""
    return _found(name)[0]


def usable_prompt_variant(name: str) -> PromptVariant:
    """The variant ``name`` if new games and models may name it: a removed one is
    refused (:class:`PromptVariantError`)."""
    variant, active = _found(name)
    if not active:
        raise PromptVariantError(
            f"prompt variant {name!r} was removed (its games keep it); choose another: "
            "snakebench prompts list"
        )
    return variant


def known_prompt_variants() -> list[tuple[PromptVariant, bool]]:
    """Every variant with whether it is active (removed ones kept for their games):
    the built-in ones first, then the stored ones by name."""
    stored = [(_variant_of(row), bool(row.is_active)) for row in stored_prompt_variants()]
    return [(variant, True) for variant in BUILTIN_VARIANTS.values()] + stored


def lineup_prompt(model: Model, override: str | None) -> PromptVariant | None:
    """The usable variant ``model`` would be prompted with in a game written now
    (``override``, else its own, else ``default``); None for a bot."""
    name = lineup_prompt_variant(model, override)
    return None if name is None else usable_prompt_variant(name)


def _found(name: str) -> tuple[PromptVariant, bool]:
    if name in BUILTIN_VARIANTS:
        return BUILTIN_VARIANTS[name], True
    row = stored_prompt_variant(name)
    if row is None:
        known = [*BUILTIN_VARIANTS, *(row.name for row in stored_prompt_variants())]
        raise UnknownPromptVariantError(name, known)
    return _variant_of(row), bool(row.is_active)


def _variant_of(row: PromptVariantRow) -> PromptVariant:
    """The stored row as a variant, its template checked again (a template stored by
    an older version may name a placeholder this one no longer has)."""
    try:
        return make_variant(row.name, row.template, row.description)
    except PromptVariantError as exc:
        raise PromptVariantError(
            f"stored prompt variant {row.name!r} is not usable: {exc}"
        ) from None
