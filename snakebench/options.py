"""The game options, declared once: the rules of a game and its per-game policies.

:class:`GameOptions` is the one list of them. Everything else is made from it:

- the engine's :class:`~snakebench.engine.Rules` (:meth:`GameOptions.rules`);
- the stored specs, which extend it: a game's ``GameParams``, a batch's ``BatchSpec``,
  a tournament's ``TournamentSpec`` (so a batch's stored params keep every option);
- the command-line options of every command that plays games
  (:func:`snakebench.cli.options.game_options`): same flags, bounds and help text;
- the web API's request fields and their OpenAPI rows (:mod:`snakebench.web.openapi`).

Each option's bounds and help live in :data:`OPTION_ROWS` beside it, and
:meth:`GameOptions.check` applies them, so a request, a command line and a stored spec
are refused by the same words. Pure data: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Literal, get_args

from snakebench.engine.rules import DOUBLE_DEATH_POLICIES, Rules, RulesError

InvalidMovePolicy = Literal["random", "forfeit"]
INVALID_MOVE_POLICIES: tuple[InvalidMovePolicy, ...] = get_args(InvalidMovePolicy)

MAX_BOARD_SIDE = 100
MAX_ROUNDS = 10_000

# Prompt variants (snakebench.players.prompt_variants) are named like this everywhere:
# on the command line, in the API, in the database and in replays.
DEFAULT_PROMPT_VARIANT = "default"
PROMPT_VARIANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
PROMPT_VARIANT_NAME_RULE = "1 to 40 characters: a-z, 0-9, - and _, starting with a letter or digit"


@dataclass(frozen=True)
class OptionRow:
    """How one option is offered: its flags, help text and the values it may take."""

    name: str
    kind: type[int] | type[str]
    help: str
    flags: tuple[str, ...]
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    # A name option (kind str, no choices): None allowed, else it must match this.
    pattern: re.Pattern[str] | None = None
    pattern_rule: str = ""

    @property
    def nullable(self) -> bool:
        return self.pattern is not None


@dataclass(frozen=True, kw_only=True)
class GameOptions(Rules):
    """How a game is played: the engine's :class:`Rules` and the per-game policies.
    Defaults are a batch's (100 rounds); ``snakebench play`` plays the original's
    single game, 150 rounds, the engine's default."""

    max_rounds: int = 100
    invalid_move_policy: InvalidMovePolicy = "random"
    # Every LLM player's prompt variant; None: each model's own (``models add
    # --prompt-variant``), else "default". Only the name is checked here; that it
    # exists is checked where variants are known (snakebench.games.prompts).
    prompt_variant: str | None = None

    def rules(self) -> Rules:
        """Just the engine's share of the options."""
        return Rules.of(self)

    def options(self) -> GameOptions:
        """Just the options of a spec that extends them."""
        return GameOptions(**{name: getattr(self, name) for name in OPTION_NAMES})

    def check(self) -> None:
        """Raise :class:`RulesError` naming the first option out of its bounds, or a
        board too small for its apples and snakes."""
        for row in OPTION_ROWS:
            _check_row(row, getattr(self, row.name))
        self.rules().validate(2)


def _check_row(row: OptionRow, value: object) -> None:
    if row.pattern is not None:
        if value is not None and not (isinstance(value, str) and row.pattern.fullmatch(value)):
            raise RulesError(f"{row.name} must be {row.pattern_rule}, got {value!r}", row.name)
        return
    if row.choices is not None:
        if value not in row.choices:
            allowed = " or ".join(repr(choice) for choice in row.choices)
            raise RulesError(f"{row.name} must be {allowed}, got {value!r}", row.name)
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise RulesError(f"{row.name} must be an integer, got {value!r}", row.name)
    if row.minimum is not None and value < row.minimum:
        raise RulesError(f"{row.name} must be at least {row.minimum}, got {value}", row.name)
    if row.maximum is not None and value > row.maximum:
        raise RulesError(f"{row.name} must be at most {row.maximum}, got {value}", row.name)


OPTION_ROWS: tuple[OptionRow, ...] = (
    OptionRow("width", int, "Board width.", ("--width",), 2, MAX_BOARD_SIDE),
    OptionRow("height", int, "Board height.", ("--height",), 2, MAX_BOARD_SIDE),
    OptionRow("num_apples", int, "Apples kept on the board (with the snakes, they must fit).",
              ("--num-apples", "--num_apples"), 0, MAX_BOARD_SIDE**2 - 2),
    OptionRow("max_rounds", int, "Rounds before a game ends.",
              ("--max-rounds", "--max_rounds"), 1, MAX_ROUNDS),
    OptionRow("apple_target", int,
              "Apples that win the game at once; width x height or more is no target "
              "(the original's rule until January 2026: only rounds or deaths end a game).",
              ("--apple-target", "--apple_target"), 1, MAX_BOARD_SIDE**2),
    OptionRow("double_death", str,
              "A round where both snakes die: 'score' (the higher score wins) or 'tie'.",
              ("--double-death", "--double_death"), choices=DOUBLE_DEATH_POLICIES),
    OptionRow("invalid_move_policy", str,
              "A reply with no valid move: a 'random' valid move, or 'forfeit' the game.",
              ("--invalid-move-policy", "--invalid_move_policy"), choices=INVALID_MOVE_POLICIES),
    OptionRow("prompt_variant", str,
              "The prompt variant every LLM player is prompted with, overriding each "
              "model's own (see: snakebench prompts list). Unset: each model's own, else "
              "'default'.",
              ("--prompt-variant", "--prompt_variant"), pattern=PROMPT_VARIANT_NAME,
              pattern_rule=f"a prompt variant name ({PROMPT_VARIANT_NAME_RULE})"),
)  # fmt: skip

OPTION_NAMES: tuple[str, ...] = tuple(field.name for field in fields(GameOptions))
DEFAULTS = GameOptions()
