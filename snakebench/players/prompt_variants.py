"""Prompt variants: the one registry of how a turn's prompt is put together.

A variant is a template naming the sections of :data:`snakebench.players.prompt.SECTIONS`
as ``{placeholders}`` (Python format syntax: ``{{`` and ``}}`` are literal braces).
Two are built in and cannot be changed:

- ``default``: today's prompt, byte for byte (intro, coordinates, full rules, the game
  state, the previous turn, the advice on deciding, the answer format);
- ``minimal``: the same game state and answer format, the rules stated tersely, no
  advice: it measures what the default's words are worth.

More come from files (``snakebench prompts add NAME FILE``); they are stored in the
database, because a worker on another machine must build the very same prompt, and
each game records the variant's name and the SHA-256 of its text
(:attr:`PromptVariant.sha`), so an edited variant's games stay told apart.

Every template must hold ``{state}`` (the fake provider, and any reader of the
prompt, finds the board there) and ``{answer_format}`` (the reply parser expects the
move on the last line). ``{state}`` and ``{previous}`` may appear once each: they are
what makes a prompt long, and the budget's worst case counts each once.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field

from snakebench.options import DEFAULT_PROMPT_VARIANT, PROMPT_VARIANT_NAME, PROMPT_VARIANT_NAME_RULE
from snakebench.players.base import Turn
from snakebench.players.prompt import SECTIONS

MAX_TEMPLATE_BYTES = 20_000  # a template's UTF-8 size; the default's is under 100
REQUIRED_PLACEHOLDERS = ("state", "answer_format")
ONCE_AT_MOST = ("state", "previous")
MINIMAL_PROMPT_VARIANT = "minimal"
# Control characters but tab and newline: nothing a model needs, and what `prompts show`
# would have to hide from the terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class PromptVariantError(ValueError):
    """A prompt variant that cannot be used as given: a bad template or name, an
    unknown or removed variant, a change the registry refuses. ``field`` names the
    request field at fault (the API's 422)."""

    field = "prompt_variant"


class UnknownPromptVariantError(PromptVariantError):
    """No variant has this name; the message lists those that exist."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown prompt variant {name!r}; known: {', '.join(sorted(known))} "
            "(add one with: snakebench prompts add NAME FILE)"
        )
        self.name = name


@dataclass(frozen=True)
class PromptVariant:
    """A named template; :meth:`render` writes one turn's prompt with it.

    Built only through :func:`make_variant`, so a variant in hand is always a valid one.
    """

    name: str
    template: str
    description: str = ""
    builtin: bool = False
    placeholders: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def sha(self) -> str:
        """SHA-256 of the template's UTF-8 text: recorded with every game it prompts."""
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()

    def render(self, turn: Turn, last_move: str | None, last_rationale: str | None) -> str:
        """The prompt for ``turn.snake_id``'s next move; only the sections the template
        names are written."""
        sections = {
            name: SECTIONS[name].build(turn, last_move, last_rationale)
            for name in self.placeholders
        }
        return self.template.format_map(sections)


def make_variant(
    name: str, template: str, description: str = "", *, builtin: bool = False
) -> PromptVariant:
    """A variant from its name and template, both checked (:func:`check_name`,
    :func:`check_template`): :class:`PromptVariantError` names the first problem."""
    check_name(name)
    placeholders = check_template(template)
    return PromptVariant(name, template, description, builtin, placeholders)


def check_name(name: str) -> None:
    if not PROMPT_VARIANT_NAME.fullmatch(name):
        raise PromptVariantError(f"prompt variant name {name!r}: use {PROMPT_VARIANT_NAME_RULE}")


def check_template(template: str) -> frozenset[str]:
    """The placeholders ``template`` names; :class:`PromptVariantError` (one line) if it
    is empty or too large, holds a control character, is not a valid format string,
    names an unknown placeholder or uses one with a conversion or format spec, lacks
    ``{state}`` or ``{answer_format}``, or repeats ``{state}`` or ``{previous}``."""
    size = len(template.encode("utf-8"))
    if size > MAX_TEMPLATE_BYTES:
        raise PromptVariantError(
            f"the template has {size:,} bytes; at most {MAX_TEMPLATE_BYTES:,} are allowed"
        )
    if not template.strip():
        raise PromptVariantError("the template is empty")
    control = _CONTROL.search(template)
    if control:
        line = template.count("\n", 0, control.start()) + 1
        raise PromptVariantError(
            f"the template holds control character U+{ord(control.group()):04X} on line {line}"
        )
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptVariantError(
            f"the template is not a valid format string ({exc}); write {{{{ and }}}} "
            "for literal braces"
        ) from None
    named = [(name, spec, conversion) for _, name, spec, conversion in parsed if name is not None]
    for name, spec, conversion in named:
        if name not in SECTIONS:
            raise PromptVariantError(
                f"unknown placeholder {{{name}}}; known: {placeholder_list()} "
                "(write {{ and }} for literal braces)"
            )
        if spec or conversion:
            raise PromptVariantError(f"placeholder {{{name}}} takes no conversion or format spec")
    names = [name for name, _, _ in named]
    for required in REQUIRED_PLACEHOLDERS:
        if required not in names:
            raise PromptVariantError(f"the template must hold {{{required}}}")
    for once in ONCE_AT_MOST:
        if names.count(once) > 1:
            raise PromptVariantError(f"{{{once}}} may appear only once in a template")
    return frozenset(names)


def placeholder_list() -> str:
    return ", ".join(f"{{{name}}}" for name in SECTIONS)


DEFAULT_TEMPLATE = (
    "{intro}\n\n{coordinates}\n\n{rules}\n\n{state}\n\n{previous}\n\n"
    "{decision_process}\n\n{answer_format}\n"
)

MINIMAL_TEMPLATE = """\
You are snake {snake_id} in a game of Snake.

{rules_brief}

{state}

{previous}

{answer_format}
"""

BUILTIN_VARIANTS: dict[str, PromptVariant] = {
    variant.name: variant
    for variant in (
        make_variant(
            DEFAULT_PROMPT_VARIANT,
            DEFAULT_TEMPLATE,
            "the full rules, the game state, the previous turn, advice on deciding",
            builtin=True,
        ),
        make_variant(
            MINIMAL_PROMPT_VARIANT,
            MINIMAL_TEMPLATE,
            "the rules stated tersely, the game state, the previous turn; no advice",
            builtin=True,
        ),
    )
}
DEFAULT_VARIANT = BUILTIN_VARIANTS[DEFAULT_PROMPT_VARIANT]


def build_prompt(
    turn: Turn,
    last_move: str | None,
    last_rationale: str | None,
    variant: PromptVariant = DEFAULT_VARIANT,
) -> str:
    """The prompt for ``turn.snake_id``'s next move, written with ``variant``."""
    return variant.render(turn, last_move, last_rationale)
