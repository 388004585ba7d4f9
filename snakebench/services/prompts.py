"""Managing prompt variants: add one from a file, list them, show one (and the prompt
it writes on a sample board), remove one. The variants themselves, their sections
and checks are :mod:`snakebench.players.prompt_variants`; finding one by name is
:mod:`snakebench.games.prompts`.

Library functions expect the store to be open (:func:`snakebench.store.open_store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from snakebench.engine import Rules, SeededSpawner, new_game, step
from snakebench.games.prompts import known_prompt_variants, prompt_variant
from snakebench.players.base import Turn
from snakebench.players.bots import make_bot
from snakebench.players.prompt_variants import (
    BUILTIN_VARIANTS,
    MAX_TEMPLATE_BYTES,
    PromptVariant,
    PromptVariantError,
    check_name,
    make_variant,
)
from snakebench.store import (
    delete_prompt_variant,
    prompt_variant_use,
    save_prompt_variant,
    set_prompt_variant_active,
    stored_prompt_variant,
)

SAMPLE_SEED = 17
SAMPLE_ROUNDS = 3  # the sample board: a game a few rounds in, played by two survivor bots
SAMPLE_REPLY = "The nearest apple is that way and nothing blocks the path.\n{move}"


def read_template(file: Path) -> str:
    """The template in ``file``: at most :data:`MAX_TEMPLATE_BYTES`, UTF-8 text,
    Windows line ends made ``\\n``. Each problem is one :class:`PromptVariantError` line."""
    try:
        size = file.stat().st_size
        if size > MAX_TEMPLATE_BYTES:
            raise PromptVariantError(
                f"{file} has {size:,} bytes; a template may have at most {MAX_TEMPLATE_BYTES:,}"
            )
        raw = file.read_bytes()
    except OSError as exc:
        raise PromptVariantError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptVariantError(
            f"{file} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def add_prompt_variant(
    name: str, file: Path, *, description: str = "", replace: bool = False
) -> PromptVariant:
    """Check the template in ``file`` and store it as the variant ``name``. A built-in
    name is refused; so is an existing one unless ``replace`` (games already played
    keep the hash of the text they used, so the change shows)."""
    check_name(name)
    if name in BUILTIN_VARIANTS:
        raise PromptVariantError(
            f"prompt variant {name!r} is built in and cannot be replaced; choose another name"
        )
    variant = make_variant(name, read_template(file), description.strip())
    if stored_prompt_variant(name) is not None and not replace:
        raise PromptVariantError(
            f"prompt variant {name!r} exists; add --replace to change its text "
            "(its games keep the hash of the text they were prompted with)"
        )
    save_prompt_variant(
        name, template=variant.template, sha=variant.sha, description=variant.description
    )
    return variant


@dataclass(frozen=True)
class VariantListing:
    """One line of ``prompts list``."""

    name: str
    builtin: bool
    active: bool
    sha: str
    description: str
    players: int  # players of games prompted with it (any status)
    models: tuple[str, ...]  # models whose own variant it is

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "builtin": self.builtin,
            "active": self.active,
            "sha": self.sha,
            "description": self.description,
            "players": self.players,
            "models": list(self.models),
        }


def list_prompt_variants(include_removed: bool = False) -> list[VariantListing]:
    """The built-in variants, then the stored ones by name (removed ones only when
    asked), each with how many players and which models use it."""
    known = [(v, active) for v, active in known_prompt_variants() if active or include_removed]
    uses = prompt_variant_use(variant.name for variant, _ in known)
    return [
        VariantListing(
            variant.name,
            variant.builtin,
            active,
            variant.sha,
            variant.description,
            uses[variant.name].players,
            uses[variant.name].models,
        )
        for variant, active in known
    ]


def sample_prompt(variant: PromptVariant) -> str:
    """The prompt ``variant`` writes for snake 0 on a sample board (a 10x10 game a few
    rounds in, a previous move and reply shown back), to read before using it."""
    rules = Rules(max_rounds=100)
    state = new_game(rules, SAMPLE_SEED, ("0", "1"))
    spawn = SeededSpawner(SAMPLE_SEED)
    bots = {sid: make_bot("survivor", SAMPLE_SEED) for sid in state.snakes}
    moves: dict[str, str] = {}
    for _ in range(SAMPLE_ROUNDS):
        moves = {sid: str(bot.choose(Turn(sid, state, rules)).move) for sid, bot in bots.items()}
        state = step(state, moves, rules, spawn)
    return variant.render(Turn("0", state, rules), moves["0"], SAMPLE_REPLY.format(move=moves["0"]))


def remove_prompt_variant(name: str) -> bool:
    """Remove the stored variant ``name``: deleted if no game names it, else only
    deactivated (True), so its games can still be read and re-run. Refused for a
    built-in variant and for one a model uses as its own."""
    if name in BUILTIN_VARIANTS:
        raise PromptVariantError(f"prompt variant {name!r} is built in; it cannot be removed")
    prompt_variant(name)  # unknown: UnknownPromptVariantError
    use = prompt_variant_use([name])[name]
    if use.models:
        raise PromptVariantError(
            f"prompt variant {name!r} is the own variant of {', '.join(use.models)}; give "
            f"them another first: snakebench models prompt MODEL default"
        )
    if use.players:
        set_prompt_variant_active(name, False)
        return True
    delete_prompt_variant(name)
    return False
