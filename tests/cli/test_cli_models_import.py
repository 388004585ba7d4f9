"""``snakebench models import``: the original's model list, entry by entry: what it
maps each field to, what it refuses and why, --strict and --dry-run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from snakebench.services.catalog import entry_from_original
from snakebench.store import Model

from .conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]
OneLineError = Callable[..., None]
UPSTREAM_LIST = ROOT / "tests" / "fixtures" / "upstream-model-list" / "model_list.yaml"

ORIGINAL_LIST = """
# Prices are in USD per 1 million tokens.
models:
  - name: 'gpt-4o-mini-2024-07-18'
    model_name: 'gpt-4o-mini-2024-07-18'
    provider: 'openai'
    max_completion_tokens: 8000
    pricing:
      date: "2025-04-30"
      input: 0.15
      output: 0.6
  - name: 'o3-mini-2025-01-31-high'
    model_name: 'o3-mini-2025-01-31'
    reasoning_effort: 'high'
    provider: 'openai'
    max_completion_tokens: 100000
  - name: 'claude-3-5-haiku-20241022'
    model_name: 'claude-3-5-haiku-20241022'
    provider: 'anthropic'
    max_tokens: 8192
"""

# Entries the import refuses, each with the words its refusal must hold (the field).
BAD_ENTRIES = {
    "{name: skynet-1, model_name: y, provider: skynet}": "provider must be one of",
    "{name: cheap-1, model_name: y, pricing: {input: cheap}}": "input price",
    "{name: nan-1, model_name: y, pricing: {output: .nan}}": "output price",
    "{name: neg-1, model_name: y, pricing: {output: -1}}": "output price",
    "{name: date-1, model_name: y, pricing: {date: [1]}}": "pricing.date",
    "{name: pricing-1, model_name: y, pricing: 3}": "pricing must be a mapping",
    "{name: lots-1, model_name: y, max_completion_tokens: lots}": "max_completion_tokens",
    "{name: maxtok-1, model_name: y, max_tokens: 0}": "max_completion_tokens",
    "{name: api-1, model_name: y, api_type: batch}": "api_type must be responses or completions",
    "{name: model-1, model_name: y, model: z}": "may not set model",
    "{name: key-1, model_name: y, api_key: sk-live-1}": "looks like a credential",
    "{name: env-1, model_name: y, api_key_env: sk-live-1}": "api_key_env must",
    "{name: kwargs-1, model_name: y, kwargs: [1]}": "kwargs must be a mapping",
    "{name: random, model_name: y}": "built-in bot",
    "{name: nameless-1}": "model_name is missing",
    "{model_name: y}": "name is missing",
    "just a string": "not a mapping of fields",
}


def names(cli: Invoke) -> list[str]:
    listed = json.loads(cli("models", "list", "--json", "--all").stdout)
    return sorted(m["name"] for m in listed if m["provider"] != "bot")


def show(cli: Invoke, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(cli("models", "show", name).stdout)
    return shown


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model_list.yaml"
    path.write_text(text)
    return path


def test_the_originals_whole_list_imports_every_entry(cli: Invoke) -> None:
    listed = yaml.safe_load(UPSTREAM_LIST.read_text())["models"]
    assert len(listed) == 63
    result = cli("models", "import", str(UPSTREAM_LIST))
    assert result.exit_code == 0, result.output
    assert "imported 63 of 63; 0 refused (add 63)" in result.stdout
    assert names(cli) == sorted(item["name"] for item in listed)
    gemini = show(cli, "gemini-2.5-flash-preview-04-17")
    assert gemini["provider"] == "google"
    assert (gemini["price_input_per_m"], gemini["price_output_per_m"]) == (0.15, 0.6)
    assert gemini["catalog_info"] == {"pricing_date": "2025-04-28"}
    opus = show(cli, "claude-3-opus-20240229")  # max_tokens: 4096, the original's cap
    assert opus["max_completion_tokens"] == 4096 and opus["extra"] == {}
    assert show(cli, "o1-pro-2025-03-19")["api"] == "responses"  # played through Responses
    assert show(cli, "gpt-4o-2024-11-20")["api"] is None  # the provider's own: Chat
    o4 = show(cli, "o4-mini-2025-04-16-high")
    assert o4["extra"] == {"reasoning_effort": "high"} and o4["model_slug"] == "o4-mini-2025-04-16"
    for model in Model.select():  # no mapped key reaches the request fields
        assert not {"api_type", "max_tokens", "pricing", "date"} & set(model.extra), model.name


def test_api_type_responses_becomes_the_entry_api() -> None:
    item = yaml.safe_load(UPSTREAM_LIST.read_text())["models"][2]
    assert item["name"] == "o1-pro-2025-03-19" and item["api_type"] == "responses"
    entry = entry_from_original(item)
    assert entry["api"] == "responses"
    assert entry["max_completion_tokens"] == 8000
    assert (entry["price_input_per_m"], entry["price_output_per_m"]) == (150.0, 600.0)
    assert entry["catalog_info"] == {"pricing_date": "2025-04-30"} and entry["extra"] == {}
    chat = entry_from_original({"name": "a", "model_name": "b", "api_type": "completions"})
    assert "api" not in chat and chat["extra"] == {}


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    entry = entry_from_original(
        {"name": "a", "model_name": "b", "max_completion_tokens": 100, "max_tokens": 50}
    )
    assert entry["max_completion_tokens"] == 100 and "max_tokens" not in entry["extra"]


def test_a_list_with_bad_entries_imports_the_good_ones_and_names_the_bad(
    cli: Invoke, tmp_path: Path
) -> None:
    bad = "".join(f"  - {text}\n" for text in BAD_ENTRIES)
    result = cli("models", "import", str(write(tmp_path, ORIGINAL_LIST + bad)))
    assert result.exit_code == 1, result.output
    total = 3 + len(BAD_ENTRIES)
    assert f"imported 3 of {total}; {len(BAD_ENTRIES)} refused" in result.stdout
    refusals = result.stderr.strip().splitlines()
    reasons = list(BAD_ENTRIES.values())
    for position, (line, reason) in enumerate(zip(refusals, reasons, strict=True), start=4):
        assert line.startswith(f"refused entry #{position}"), line
        assert reason in line, (line, reason)
    assert "refused entry #4 (skynet-1): provider must be one of" in refusals[0]
    assert "sk-live-1" not in result.output
    assert names(cli) == sorted(
        ["gpt-4o-mini-2024-07-18", "o3-mini-2025-01-31-high", "claude-3-5-haiku-20241022"]
    )
    haiku = show(cli, "claude-3-5-haiku-20241022")
    assert haiku["max_completion_tokens"] == 8192 and haiku["extra"] == {}


def test_a_name_listed_twice_refuses_both(cli: Invoke, tmp_path: Path) -> None:
    text = "models:\n  - {name: x, model_name: y}\n  - {name: ok, model_name: o}\n"
    result = cli("models", "import", str(write(tmp_path, text + "  - {name: x, model_name: z}\n")))
    assert result.exit_code == 1
    assert "refused entry #1 (x): name is listed more than once (#1, #3)" in result.stderr
    assert "refused entry #3 (x): name is listed more than once (#1, #3)" in result.stderr
    assert names(cli) == ["ok"]


def test_strict_imports_nothing_when_an_entry_is_refused(cli: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL_LIST + "  - {name: broken, model_name: b, pricing: 3}\n")
    result = cli("models", "import", str(path), "--strict")
    assert result.exit_code == 2, result.output
    assert "refused entry #4 (broken): pricing must be a mapping" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: 1 of 4 entries refused; nothing imported (--strict)"
    )
    assert names(cli) == []
    strict = cli("models", "import", str(write(tmp_path, ORIGINAL_LIST)), "--strict")
    assert strict.exit_code == 0 and "imported 3 of 3; 0 refused" in strict.stdout


def test_dry_run_shows_added_updated_and_unchanged_and_stores_nothing(
    cli: Invoke, tmp_path: Path
) -> None:
    assert cli("models", "import", str(write(tmp_path, ORIGINAL_LIST))).exit_code == 0
    before = {m.name: m.updated_at for m in Model.select()}
    changed = ORIGINAL_LIST.replace("output: 0.6", "output: 0.8").replace("'high'", "'medium'")
    extra = "  - {name: new-one, model_name: n, provider: together}\n"
    result = cli("models", "import", str(write(tmp_path, changed + extra)), "--dry-run")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "add" in rows["new-one"]
    assert "update" in rows["gpt-4o-mini-2024-07-18"]
    assert "price_output_per_m 0.6 -> 0.8" in rows["gpt-4o-mini-2024-07-18"]
    assert "extra.reasoning_effort" in rows["o3-mini-2025-01-31-high"]
    assert "unchanged" in rows["claude-3-5-haiku-20241022"]
    assert "would import 4 of 4; 0 refused (add 1, update 2, unchanged 1)" in result.stdout
    assert {m.name: m.updated_at for m in Model.select()} == before
    assert show(cli, "gpt-4o-mini-2024-07-18")["price_output_per_m"] == 0.6


def test_importing_the_same_list_again_changes_nothing(cli: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path, ORIGINAL_LIST)
    assert cli("models", "import", str(path)).exit_code == 0
    before = {m.name: m.updated_at for m in Model.select()}
    again = cli("models", "import", str(path))
    assert again.exit_code == 0 and "imported 3 of 3; 0 refused (unchanged 3)" in again.stdout
    assert {m.name: m.updated_at for m in Model.select()} == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not: [yaml", "is not YAML"),
        ("hello: world", "has no 'models' list"),
        ("models: 3", "has no 'models' list"),
    ],
)
def test_a_file_that_is_no_model_list_is_a_usage_error(
    cli: Invoke, tmp_path: Path, text: str, message: str, one_line_error: OneLineError
) -> None:
    one_line_error(cli("models", "import", str(write(tmp_path, text))), message)
    assert names(cli) == []


def test_a_missing_file_is_a_usage_error(
    cli: Invoke, tmp_path: Path, one_line_error: OneLineError
) -> None:
    one_line_error(cli("models", "import", str(tmp_path / "absent.yaml")), "cannot read")
