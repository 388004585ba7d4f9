"""``snakebench models`` and ``snakebench db``."""

from __future__ import annotations

import json

from typer.testing import Result

from snakebench.store import MIGRATIONS, Model, latest_version

from .conftest import Invoke


def test_bots_are_there_from_the_start(cli: Invoke) -> None:
    result = cli("models", "list", "--json")
    assert result.exit_code == 0
    assert [m["name"] for m in json.loads(result.stdout)] == ["greedy", "random", "survivor"]


def test_the_list_says_where_each_model_stands_and_cuts_no_name(cli: Invoke) -> None:
    """Output to a pipe (as here) is 80 columns to Rich: the table grows instead."""
    long_name = "openrouter-anthropic-claude-3.7-sonnet-thinking-2025-02-24"
    long_slug = "anthropic/claude-3.7-sonnet:thinking-with-a-long-suffix"
    for name, slug in ((long_name, long_slug), ("placed", "p"), ("fresh", "f")):
        added = cli("models", "add", name, "--provider", "openrouter", "--model", slug)
        assert added.exit_code == 0, added.output
    greedy = Model.get(Model.name == "greedy")
    greedy.games_played, greedy.wins = 70, 70
    greedy.save()
    Model.update(games_played=3).where(Model.name.in_([long_name, "placed"])).execute()
    Model.update(test_status="ranked").where(Model.name == "placed").execute()
    listed = cli("models", "list")
    assert listed.exit_code == 0, listed.output
    status = {line.split()[1]: line.split()[-2] for line in listed.stdout.splitlines()[3:-1]}
    assert status == {
        "greedy": "bot", "random": "bot", "survivor": "bot",
        long_name: "rated", "placed": "ranked", "fresh": "untested",
    }  # fmt: skip
    assert long_slug in listed.stdout and "…" not in listed.stdout
    shown = {m["name"]: m["status"] for m in json.loads(cli("models", "list", "--json").stdout)}
    assert shown["greedy"] == "bot" and shown[long_name] == "rated"


def test_add_show_update_and_remove(cli: Invoke) -> None:
    added = cli(
        "models",
        "add",
        "local-llama",
        "--provider",
        "openai-compatible",
        "--model",
        "llama3",
        "--base-url",
        "http://127.0.0.1:8000/v1",
        "--price-input",
        "0.2",
        "--price-output",
        "0.4",
        "--extra",
        "temperature=0",
        "--extra",
        "reasoning_effort=low",
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(cli("models", "show", "local-llama").stdout)
    assert shown["base_url"] == "http://127.0.0.1:8000/v1"
    assert shown["extra"] == {"temperature": 0, "reasoning_effort": "low"}
    assert shown["price_output_per_m"] == 0.4
    cli(
        "models",
        "add",
        "local-llama",
        "--provider",
        "openai-compatible",
        "--model",
        "llama3.1",
        "--base-url",
        "http://127.0.0.1:8000/v1",
    )
    assert json.loads(cli("models", "show", "local-llama").stdout)["model_slug"] == "llama3.1"
    assert cli("models", "remove", "local-llama").exit_code == 0
    missing = cli("models", "show", "local-llama")
    assert missing.exit_code == 2 and "unknown model 'local-llama'" in missing.output


def test_removing_a_model_that_played_keeps_its_games(cli: Invoke) -> None:
    cli("play", "greedy", "random", "--seed", "1", "--quiet")
    result = cli("models", "remove", "random")
    assert "deactivated" in result.stdout
    assert "random" not in [m["name"] for m in json.loads(cli("models", "list", "--json").stdout)]
    assert Model.get(Model.name == "random").games_played == 1


def test_bad_add_arguments(cli: Invoke) -> None:
    def add(*flags: str) -> Result:
        return cli("models", "add", "x", "--provider", "openai", "--model", "m", *flags)

    unknown = cli("models", "add", "x", "--provider", "skynet", "--model", "m")
    assert unknown.exit_code == 2 and "must be one of" in unknown.output
    compat = cli("models", "add", "x", "--provider", "openai-compatible", "--model", "m")
    assert compat.exit_code == 2 and "openai-compatible models need a base_url" in compat.output
    key = add("--api-key-env", "sk-proj-abc123")
    assert key.exit_code == 2 and "must name the environment variable" in key.output
    assert "sk-proj-abc123" not in key.output
    header = add("--extra", 'extra_headers={"Authorization": "Bearer sk-1"}')
    assert header.exit_code == 2 and "extra_headers.Authorization" in header.output
    bot = cli("models", "add", "greedy", "--provider", "openai", "--model", "gpt")
    assert bot.exit_code == 2 and "'greedy' is a built-in bot" in bot.output


def test_db_upgrade_is_safe_to_run_twice(cli: Invoke) -> None:
    versions = ", ".join(str(version) for version, _, _ in sorted(MIGRATIONS))
    first = cli("db", "upgrade")
    assert first.exit_code == 0 and f"applied migrations {versions}" in first.stdout
    second = cli("db", "upgrade")
    assert second.exit_code == 0 and "applied" not in second.stdout
    assert f"schema version {latest_version()} (latest {latest_version()})" in second.stdout


def test_a_removed_bot_stays_removed(cli: Invoke) -> None:
    cli("play", "greedy", "random", "--seed", "1", "--quiet")
    cli("models", "remove", "random")
    assert "random" not in cli("models", "list").stdout
    assert "random" in cli("models", "list", "--all").stdout
    refused = cli("play", "greedy", "random")
    assert refused.exit_code == 2
    assert "model 'random' was removed; bring it back with: snakebench models restore random" in (
        refused.output
    )
    assert cli("models", "restore", "random").exit_code == 0
    assert cli("play", "greedy", "random", "--quiet").exit_code == 0


def test_adding_a_stored_name_again_says_which_settings_it_replaced(cli: Invoke) -> None:
    """``models add`` replaces a definition: settings left out go back to their defaults,
    and the output names each one, so nobody loses a reasoning setting unawares."""
    first = cli("models", "add", "gpt5", "--provider", "openai", "--model", "gpt-5", "--api",
                "responses", "--reasoning-effort", "high", "--price-input", "1.25")  # fmt: skip
    assert first.exit_code == 0 and "model gpt5 saved" in first.stdout
    again = cli("models", "add", "gpt5", "--provider", "openai", "--model", "gpt-5",
                "--price-input", "1.5")  # fmt: skip
    assert again.exit_code == 0, again.output
    line = " ".join(again.stdout.split())
    assert line.startswith("model gpt5 updated:")
    for change in ("api responses -> none", "price_input_per_m 1.25 -> 1.5", "reasoning_effort"):
        assert change in line, line
    same = cli("models", "add", "gpt5", "--provider", "openai", "--model", "gpt-5",
               "--price-input", "1.5")  # fmt: skip
    assert "model gpt5 saved" in same.stdout  # nothing changed, nothing listed
