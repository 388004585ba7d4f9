"""The game options are declared once (snakebench.options) and every surface that takes
them (each command that plays games, the API's request fields, the stored specs) is
made from that one declaration: same names, flags, bounds, choices and help."""

from __future__ import annotations

from dataclasses import fields

import pytest
from typer.testing import CliRunner

from snakebench.cli.main import app as snakebench_app
from snakebench.cli.options import game_options
from snakebench.engine.rules import RulesError
from snakebench.games.simulation import GameParams
from snakebench.options import DEFAULTS, OPTION_NAMES, OPTION_ROWS, GameOptions
from snakebench.services.batches import BatchSpec
from snakebench.services.tournament import TournamentSpec
from snakebench.web.openapi import BATCH_FIELDS

GAME_COMMANDS = (("dispatch",), ("tournament",), ("play",), ("evaluate",))


def test_one_row_per_option_in_declaration_order() -> None:
    assert tuple(row.name for row in OPTION_ROWS) == OPTION_NAMES
    assert tuple(field.name for field in fields(GameOptions)) == OPTION_NAMES


def _help(path: tuple[str, ...]) -> str:
    """The command's --help, unwrapped."""
    result = CliRunner().invoke(snakebench_app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("path", GAME_COMMANDS, ids=lambda path: " ".join(path))
def test_every_command_that_plays_games_takes_every_option_alike(path: tuple[str, ...]) -> None:
    shown = _help(path)
    for row in OPTION_ROWS:
        offered = ", ".join(row.flags)
        if row.choices is not None:
            offered += f" <{'|'.join(row.choices)}>"
        assert offered in shown
        assert row.help in shown


def test_play_keeps_the_originals_single_game_length() -> None:
    assert GameParams().max_rounds == 150 and DEFAULTS.max_rounds == 100
    assert "Rounds before a game ends. 1 to 10,000. [default: 150]" in _help(("play",))
    assert "Rounds before a game ends. 1 to 10,000. [default: 100]" in _help(("dispatch",))


def test_the_api_takes_every_option_with_the_same_bounds() -> None:
    fields_by_name = {param.name: param for param in BATCH_FIELDS}
    for row in OPTION_ROWS:
        param = fields_by_name[row.name]
        assert (param.minimum, param.maximum, param.enum) == (row.minimum, row.maximum, row.choices)
        assert param.default == getattr(DEFAULTS, row.name)
        assert param.description == row.help


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (BatchSpec("a", "b"), "batch"),
        (TournamentSpec(("a", "b")), "tournament"),
        (GameParams(), "game"),
    ],
)
def test_every_stored_spec_carries_every_option(spec: GameOptions, name: str) -> None:
    assert isinstance(spec, GameOptions)
    assert set(OPTION_NAMES) <= {field.name for field in fields(spec)}
    assert spec.options() == GameOptions(max_rounds=spec.max_rounds)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"width": 1}, "width must be at least 2, got 1"),
        ({"height": 101}, "height must be at most 100, got 101"),
        ({"max_rounds": 0}, "max_rounds must be at least 1, got 0"),
        ({"apple_target": 0}, "apple_target must be at least 1, got 0"),
        ({"double_death": "both"}, "double_death must be 'score' or 'tie', got 'both'"),
        ({"invalid_move_policy": "skip"}, "invalid_move_policy must be 'random' or 'forfeit'"),
        ({"width": 2, "height": 2, "num_apples": 3}, "too few for 3 apples and 2 snakes"),
    ],
)
def test_check_names_the_option_out_of_bounds(change: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError, match=message):
        GameOptions(**change).check()  # type: ignore[arg-type]


def test_a_decorated_command_still_takes_its_options_from_python() -> None:
    @game_options(max_rounds=150)
    def command(name: str, options: GameOptions = DEFAULTS, *, loud: bool = False) -> object:
        return name, options, loud

    assert command("x") == ("x", GameOptions(max_rounds=150), False)
    assert command("x", width=8, loud=True) == ("x", GameOptions(width=8, max_rounds=150), True)
    given = GameOptions(height=7)
    assert command("x", options=given) == ("x", given, False)
    with pytest.raises(TypeError, match="no such game options: max_round"):
        game_options(max_round=150)
