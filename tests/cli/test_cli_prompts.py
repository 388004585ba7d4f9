"""Prompt variants from a user's point of view: ``snakebench prompts``, a model's own
variant, a batch's ``--prompt-variant``, what games record of it (participants and
replays) and the leaderboard filtered by it. Games are played against the fake
provider through the real OpenAI SDK."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.server import FakeLLMServer
from snakebench.players.prompt_variants import BUILTIN_VARIANTS, MAX_TEMPLATE_BYTES
from snakebench.store import Game, Model, Participant, PromptVariantRow

from .conftest import Invoke

TERSE = "Snake {snake_id}. Stay alive, eat apples.\n\n{state}\n\n{answer_format}\n"
SEEDS = ("--seed", "5", "--mirror", "--count", "2", "--max-rounds", "15")


@pytest.fixture
def fake_llm(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """The fake provider, and a model on it (``fake-gpt``, playing greedy moves on the
    board its prompt shows) registered through the CLI."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    with FakeLLMServer(FakeOptions(strategy="greedy", seed=3)) as server:
        added = cli("models", "add", "fake-gpt", "--provider", "openai", "--model",
                    "gpt-fake", "--base-url", f"{server.url}/v1", "--price-input", "1",
                    "--price-output", "4")  # fmt: skip
        assert added.exit_code == 0, added.output
        yield server


@pytest.fixture
def terse_file(tmp_path: Path) -> Path:
    path = tmp_path / "terse.txt"
    path.write_text(TERSE, encoding="utf-8")
    return path


def dispatch_sync(cli: Invoke, *args: str) -> str:
    """Play a fake-gpt v greedy batch in this process; its id (the report names the
    batch's prompt variant)."""
    result = cli("dispatch", "--model-a", "fake-gpt", "--model-b", "greedy", *args, "--sync",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    named = args[args.index("--prompt-variant") + 1] if "--prompt-variant" in args else None
    assert report["prompt_variant"] == named
    return str(report["batch_id"])


def players_of(batch_id: str) -> list[Participant]:
    return list(
        Participant.select().join(Game).where(Game.batch == batch_id).order_by(Game.created_at)
    )


def leaderboard(cli: Invoke, *args: str) -> dict[str, dict[str, Any]]:
    result = cli("leaderboard", "--json", *args)
    assert result.exit_code == 0, result.output
    return {row["model"]: row for row in json.loads(result.stdout)}


def test_add_list_show_and_remove_a_variant_from_a_file(cli: Invoke, terse_file: Path) -> None:
    added = cli("prompts", "add", "terse", str(terse_file), "--description", "no rules")
    assert added.exit_code == 0, added.output
    listed = json.loads(cli("prompts", "list", "--json").stdout)
    assert [row["name"] for row in listed] == ["default", "minimal", "terse"]
    terse = listed[2]
    assert (terse["builtin"], terse["active"], terse["description"]) == (False, True, "no rules")
    assert terse["sha"] == PromptVariantRow.get_by_id("terse").sha and terse["players"] == 0
    assert cli("prompts", "show", "terse").stdout == TERSE
    example = cli("prompts", "show", "terse", "--example").stdout
    assert example.startswith("Snake 0. Stay alive, eat apples.\n\n=== GAME STATE ===")
    assert "Turn: 4 / 100" in example and example.endswith("write nothing after it.\n")
    assert "terse" in cli("prompts", "list").stdout
    removed = cli("prompts", "remove", "terse")
    assert removed.exit_code == 0 and "prompt variant terse removed" in removed.stdout
    assert PromptVariantRow.get_or_none(PromptVariantRow.name == "terse") is None


def test_show_prints_the_built_in_templates_and_their_sample_prompts(cli: Invoke) -> None:
    assert cli("prompts", "show", "minimal").stdout == BUILTIN_VARIANTS["minimal"].template
    default = cli("prompts", "show", "default", "--example").stdout
    minimal = cli("prompts", "show", "minimal", "--example").stdout
    assert "HOW TO DECIDE" in default and "HOW TO DECIDE" not in minimal
    assert default[default.index("=== GAME STATE") :].split("YOUR PREVIOUS")[0] in minimal


def test_replacing_a_variant_changes_its_hash(cli: Invoke, terse_file: Path) -> None:
    assert cli("prompts", "add", "terse", str(terse_file)).exit_code == 0
    before = PromptVariantRow.get_by_id("terse").sha
    terse_file.write_text("Be quick.\n" + TERSE, encoding="utf-8")
    assert cli("prompts", "add", "terse", str(terse_file), "--replace").exit_code == 0
    assert PromptVariantRow.get_by_id("terse").sha != before


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "unknown": "{state}\n{answer_format}\n{tactics}",
        "no-state": "{rules}\n{answer_format}",
        "no-answer": "{state}\nAnswer now.",
        "large": "{state}{answer_format}" + "x" * MAX_TEMPLATE_BYTES,
    }
    paths = {name: tmp_path / f"{name}.txt" for name in files}
    for name, text in files.items():
        paths[name].write_text(text, encoding="utf-8")
    paths["latin1"] = tmp_path / "latin1.txt"
    paths["latin1"].write_bytes("{state}{answer_format} caf\xe9".encode("latin-1"))
    return paths


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("prompts add x @unknown", "unknown placeholder {tactics}; known: {intro}"),
        ("prompts add x @no-state", "the template must hold {state}"),
        ("prompts add x @no-answer", "the template must hold {answer_format}"),
        ("prompts add x @large", "a template may have at most 20,000"),
        ("prompts add x @latin1", "is not UTF-8 text (byte 0xe9 at offset 26)"),
        ("prompts add x @absent", "cannot read"),
        ("prompts add default @terse", "'default' is built in and cannot be replaced"),
        ("prompts add 'Bad Name' @terse", "prompt variant name 'Bad Name': use 1 to 40"),
        ("prompts add again @terse", "'again' exists; add --replace"),
        ("prompts show nosuch", "unknown prompt variant 'nosuch'; known: again, default"),
        ("prompts remove minimal", "'minimal' is built in; it cannot be removed"),
        ("prompts remove nosuch", "unknown prompt variant 'nosuch'"),
        ("models add m --provider openai --model x --prompt-variant nosuch",
         "unknown prompt variant 'nosuch'"),
        ("models prompt greedy minimal", "bots are not prompted"),
        ("models prompt nobody minimal", "unknown model 'nobody'"),
        ("leaderboard --prompt-variant nosuch", "unknown prompt variant 'nosuch'"),
        ("play greedy random --prompt-variant nosuch", "unknown prompt variant 'nosuch'"),
        ("play greedy random --prompt-variant No!",
         "prompt_variant must be a prompt variant name (1 to 40 characters"),
        ("dispatch --model-a greedy --model-b random --sync --prompt-variant nosuch",
         "unknown prompt variant 'nosuch'"),
    ],
)  # fmt: skip
def test_bad_prompt_variant_input_is_one_line_exit_2(
    cli: Invoke,
    tmp_path: Path,
    terse_file: Path,
    command: str,
    message: str,
    one_line_error: Any,
) -> None:
    assert cli("prompts", "add", "again", str(terse_file)).exit_code == 0
    files = {**_bad_files(tmp_path), "terse": terse_file, "absent": tmp_path / "absent.txt"}
    args = shlex.split(command)
    argv = [str(files[arg[1:]]) if arg.startswith("@") else arg for arg in args]
    result = cli(*argv, REDIS_URL="redis://127.0.0.1:1/0")
    one_line_error(result, message)
    assert Game.select().count() == 0  # nothing queued or played
    assert PromptVariantRow.select().count() == 1  # only "again"


def test_a_mirrored_batch_records_its_variant_in_participants_and_replays(
    cli: Invoke, fake_llm: FakeLLMServer
) -> None:
    minimal = dispatch_sync(cli, *SEEDS, "--prompt-variant", "minimal")
    default = dispatch_sync(cli, *SEEDS)
    for batch_id, variant in ((minimal, BUILTIN_VARIANTS["minimal"]),
                              (default, BUILTIN_VARIANTS["default"])):  # fmt: skip
        players = players_of(batch_id)
        llm = [p for p in players if p.model.name == "fake-gpt"]
        bots = [p for p in players if p.model.name == "greedy"]
        assert len(llm) == 2 and {(p.prompt_variant, p.prompt_sha) for p in llm} == {
            (variant.name, variant.sha)
        }
        assert {(p.prompt_variant, p.prompt_sha) for p in bots} == {(None, None)}
        for participant in llm:
            replay = json.loads(Path(participant.game.replay_path).read_text())
            block = replay["players"][str(participant.slot)]
            assert (block["prompt_variant"], block["prompt_sha"]) == (variant.name, variant.sha)
            assert "prompt_variant" not in replay["players"][str(1 - participant.slot)]
    # The same seeds and moves (the fake plays greedy on the board it is shown), so the
    # shorter prompt is all that differs: the provider counted fewer input tokens.
    short, full = ([p for p in players_of(b) if p.prompt_variant] for b in (minimal, default))
    assert [p.moves for p in short] == [p.moves for p in full]
    assert all(s.input_tokens < 0.75 * f.input_tokens for s, f in zip(short, full, strict=True))


def test_the_leaderboard_filtered_by_variant_counts_only_its_games(
    cli: Invoke, fake_llm: FakeLLMServer
) -> None:
    dispatch_sync(cli, *SEEDS, "--prompt-variant", "minimal")
    dispatch_sync(cli, *SEEDS, "--count", "4")
    everything = leaderboard(cli)
    minimal = leaderboard(cli, "--prompt-variant", "minimal")
    default = leaderboard(cli, "--prompt-variant", "default")
    assert everything["fake-gpt"]["games"] == 6 and everything["greedy"]["games"] == 6
    assert set(minimal) == set(default) == {"fake-gpt"}  # bots are never prompted
    assert (minimal["fake-gpt"]["games"], default["fake-gpt"]["games"]) == (2, 4)
    for view in (minimal, default):
        row = view["fake-gpt"]
        assert row["wins"] + row["losses"] + row["ties"] == row["games"]
        assert row["rating"] == everything["fake-gpt"]["rating"]  # ratings stay global
    table = cli("leaderboard", "--prompt-variant", "minimal").stdout
    assert "records under prompt variant minimal, ratings over all games" in " ".join(table.split())
    empty = cli("leaderboard", "--prompt-variant", "terse-none", "--json")
    assert empty.exit_code == 2


def test_a_models_own_variant_applies_unless_the_batch_names_one(
    cli: Invoke, fake_llm: FakeLLMServer, terse_file: Path
) -> None:
    assert cli("prompts", "add", "terse", str(terse_file)).exit_code == 0
    assert cli("models", "prompt", "fake-gpt", "terse").exit_code == 0
    shown = json.loads(cli("models", "show", "fake-gpt").stdout)
    assert shown["prompt_variant"] == "terse"
    played = cli("play", "fake-gpt", "greedy", "--max-rounds", "5", "--quiet", "--json")
    assert played.exit_code == 0, played.output
    game = Game.get_by_id(json.loads(played.stdout)["game_id"])
    [own] = [p for p in game.participants if p.model.name == "fake-gpt"]
    assert own.prompt_variant == "terse"
    overridden = dispatch_sync(cli, "--count", "1", "--max-rounds", "5", "--prompt-variant",
                               "minimal")  # fmt: skip
    assert {p.prompt_variant for p in players_of(overridden)} == {"minimal", None}
    refused = cli("prompts", "remove", "terse")
    assert refused.exit_code == 2 and "is the own variant of fake-gpt" in refused.output


def test_removing_a_used_variant_only_deactivates_it(
    cli: Invoke, fake_llm: FakeLLMServer, terse_file: Path, one_line_error: Any
) -> None:
    assert cli("prompts", "add", "terse", str(terse_file)).exit_code == 0
    batch = dispatch_sync(cli, "--count", "1", "--max-rounds", "5", "--prompt-variant", "terse")
    removed = cli("prompts", "remove", "terse")
    assert removed.exit_code == 0 and "deactivated" in removed.stdout
    assert PromptVariantRow.get_by_id("terse").is_active is False
    names = [row["name"] for row in json.loads(cli("prompts", "list", "--json").stdout)]
    every = json.loads(cli("prompts", "list", "--all", "--json").stdout)
    assert "terse" not in names and ("terse", False) in {(r["name"], r["active"]) for r in every}
    refused = cli("dispatch", "--model-a", "fake-gpt", "--model-b", "greedy", "--sync",
                  "--prompt-variant", "terse")  # fmt: skip
    one_line_error(refused, "prompt variant 'terse' was removed")
    assert len(players_of(batch)) == 2 and Game.select().count() == 1
    assert leaderboard(cli, "--prompt-variant", "terse")["fake-gpt"]["games"] == 1


def test_a_tournament_and_a_single_game_take_the_variant_too(
    cli: Invoke, fake_llm: FakeLLMServer
) -> None:
    ran = cli("tournament", "fake-gpt", "greedy", "survivor", "--games-per-pair", "2",
              "--max-rounds", "5", "--prompt-variant", "minimal", "--sync", "--json")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    batch = json.loads(ran.stdout)["batch_id"]
    llm = [p for p in players_of(batch) if p.model.name == "fake-gpt"]
    assert len(llm) == 4 and {p.prompt_variant for p in llm} == {"minimal"}
    played = cli("play", "fake-gpt", "survivor", "--max-rounds", "5", "--prompt-variant",
                 "minimal", "--quiet", "--json")  # fmt: skip
    assert played.exit_code == 0, played.output
    replay = json.loads(Path(json.loads(played.stdout)["replay_path"]).read_text())
    assert replay["players"]["0"]["prompt_variant"] == "minimal"
    assert replay["players"]["0"]["prompt_sha"] == BUILTIN_VARIANTS["minimal"].sha


def test_an_evaluations_ladder_plays_every_game_under_its_variant(
    cli: Invoke, fake_llm: FakeLLMServer
) -> None:
    """The ladder writes each next game from the options its batch stored."""
    ran = cli("evaluate", "fake-gpt", "--games", "3", "--max-rounds", "5", "--prompt-variant",
              "minimal", "--sync")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    llm = Participant.select().join(Model).where(Model.name == "fake-gpt")
    assert [p.prompt_variant for p in llm] == ["minimal"] * 3
