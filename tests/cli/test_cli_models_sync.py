"""``snakebench models sync openrouter`` against the fake provider's catalogue (OpenRouter's
shape), through the real CLI: the diff, the filters, updates that keep a model's other
settings, idempotence, and one-line errors that store nothing."""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import Result

from snakebench.fakellm.catalogue import BUILTIN_CATALOGUE
from snakebench.fakellm.server import FakeLLMServer, FakeOptions
from snakebench.store import Model

from .conftest import Invoke

PRICED = {  # the built-in catalogue's entries with a fixed, non-zero price
    "openai/gpt-4o-mini",
    "openai/gpt-5-mini",
    "anthropic/claude-sonnet-4.5",
    "anthropic/claude-opus-4.1",
    "google/gemini-2.5-flash",
    "meta-llama/llama-3.3-70b-instruct",
    "mistralai/mistral-7b-instruct",
    "deepseek/deepseek-r1",
}
FREE = "meta-llama/llama-3.3-8b-instruct:free"


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def sync(cli: Invoke, url: str, *args: str) -> Result:
    return cli("models", "sync", "openrouter", "--base-url", f"{url}/v1", *args)


def rows(result: Result) -> dict[str, tuple[str, str]]:
    """The table's rows: name -> (action, changes or reason)."""
    cells = [line.split("│")[1:-1] for line in result.stdout.splitlines() if "│" in line]
    return {name.strip(): (action.strip(), detail.strip()) for action, name, _, detail in cells}


def synced(cli: Invoke) -> set[str]:
    listed = json.loads(cli("models", "list", "--json", "--all").stdout)
    return {m["name"] for m in listed if m["provider"] != "bot"}


def show(cli: Invoke, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(cli("models", "show", name).stdout)
    return shown


def test_dry_run_shows_what_would_change_and_stores_nothing(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    result = sync(cli, fake.url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert rows(result) == {model_id: ("add", "") for model_id in PRICED}
    assert result.stdout.strip().splitlines()[-1] == (
        "dry run, nothing stored: 10 in the openrouter catalogue: "
        "added 8, updated 0, unchanged 0, skipped 2"
    )
    assert synced(cli) == set()
    shown = rows(sync(cli, fake.url, "--dry-run", "--show-skipped"))
    assert shown[FREE] == ("skip", "free (--free to include)")
    assert shown["openrouter/auto"] == ("skip", "no fixed price (it varies by request)")


def test_a_sync_stores_prices_per_million_and_the_providers_limits(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    result = sync(cli, fake.url)
    assert result.exit_code == 0, result.output
    assert "10 in the openrouter catalogue: added 8, updated 0, unchanged 0, skipped 2" in (
        result.stdout
    )
    assert synced(cli) == PRICED
    mini = show(cli, "openai/gpt-4o-mini")
    assert (mini["provider"], mini["model_slug"]) == ("openrouter", "openai/gpt-4o-mini")
    assert (mini["price_input_per_m"], mini["price_output_per_m"]) == (0.15, 0.6)  # exactly
    assert mini["max_completion_tokens"] == 16384 and mini["extra"] == {}
    assert mini["base_url"] == f"{fake.url}/v1"  # played where its catalogue came from
    assert mini["catalog_info"] == {
        "source": "openrouter",
        "title": "OpenAI: GPT-4o-mini",
        "context_length": 128000,
        "max_completion_tokens": 16384,
        "supported_parameters": [
            "max_tokens", "temperature", "top_p", "stop", "seed", "response_format",
            "tools", "tool_choice",
        ],
    }  # fmt: skip
    r1 = show(cli, "deepseek/deepseek-r1")  # no stated limit: the client's default cap
    assert (
        r1["max_completion_tokens"] is None and "max_completion_tokens" not in (r1["catalog_info"])
    )
    mistral = show(cli, "mistralai/mistral-7b-instruct")
    assert (mistral["price_input_per_m"], mistral["price_output_per_m"]) == (0.028, 0.054)


def test_a_second_sync_changes_nothing(cli: Invoke, fake: FakeLLMServer) -> None:
    assert sync(cli, fake.url).exit_code == 0
    before = {m.name: m.updated_at for m in Model.select()}
    again = sync(cli, fake.url)
    assert again.exit_code == 0
    assert set(rows(again).values()) == {("unchanged", "")}
    assert "added 0, updated 0, unchanged 8, skipped 2" in again.stdout
    assert {m.name: m.updated_at for m in Model.select()} == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-price", "11"], PRICED - {"anthropic/claude-sonnet-4.5",
                                          "anthropic/claude-opus-4.1"}),
        (["--max-input-price", "3"], PRICED - {"anthropic/claude-opus-4.1"}),
        (["--max-output-price", "2"], {"openai/gpt-4o-mini", "openai/gpt-5-mini",
                                       "meta-llama/llama-3.3-70b-instruct",
                                       "mistralai/mistral-7b-instruct", "deepseek/deepseek-r1"}),
        (["--min-completion-tokens", "5000"], PRICED - {"mistralai/mistral-7b-instruct"}),
        (["--match", "openai/*"], {"openai/gpt-4o-mini", "openai/gpt-5-mini"}),
        (["--match", "CLAUDE"], {"anthropic/claude-sonnet-4.5", "anthropic/claude-opus-4.1"}),
        (["--match", "openai/*", "--match", "*-r1"], {"openai/gpt-4o-mini", "openai/gpt-5-mini",
                                                       "deepseek/deepseek-r1"}),
        (["--require-parameter", "reasoning"], {"openai/gpt-5-mini", "anthropic/claude-sonnet-4.5",
                                                "anthropic/claude-opus-4.1",
                                                "google/gemini-2.5-flash",
                                                "deepseek/deepseek-r1"}),
        (["--require-parameter", "reasoning", "--require-parameter", "tools"],
         {"openai/gpt-5-mini", "anthropic/claude-sonnet-4.5", "anthropic/claude-opus-4.1",
          "google/gemini-2.5-flash"}),
        (["--free"], PRICED | {FREE}),
        # The original's activation rules: input at most $11/M, 5000 output tokens or more.
        (["--max-input-price", "11", "--min-completion-tokens", "5000"],
         PRICED - {"anthropic/claude-opus-4.1", "mistralai/mistral-7b-instruct"}),
    ],
)  # fmt: skip
def test_filters_choose_the_models(
    cli: Invoke, fake: FakeLLMServer, args: list[str], expected: set[str]
) -> None:
    result = sync(cli, fake.url, *args, "--show-skipped")
    assert result.exit_code == 0, result.output
    assert synced(cli) == expected
    skipped = {name for name, (action, _) in rows(result).items() if action == "skip"}
    assert skipped == {entry["id"] for entry in BUILTIN_CATALOGUE["data"]} - expected


def test_the_skip_reasons_name_the_filter(cli: Invoke, fake: FakeLLMServer) -> None:
    args = ["--max-price", "11", "--min-completion-tokens", "5000", "--match", "/"]
    shown = rows(sync(cli, fake.url, *args, "--require-parameter", "tools", "--show-skipped"))
    assert shown["anthropic/claude-opus-4.1"] == ("skip", "input price 15 > 11")
    assert shown["anthropic/claude-sonnet-4.5"] == ("skip", "output price 15 > 11")
    assert shown["mistralai/mistral-7b-instruct"] == ("skip", "completion limit 2048 < 5000")
    assert shown["deepseek/deepseek-r1"] == ("skip", "does not support tools")
    assert shown[FREE] == ("skip", "free (--free to include)")
    assert shown["openai/gpt-5-mini"][0] == "add"
    matched = rows(sync(cli, fake.url, "--match", "openai/", "--show-skipped", "--dry-run"))
    assert matched["deepseek/deepseek-r1"] == ("skip", "does not match --match")


def test_an_existing_model_gets_new_prices_and_keeps_its_other_settings(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    def add(name: str, *flags: str) -> None:
        args = ["--provider", "openrouter", "--model", "openai/gpt-4o-mini", *flags]
        assert cli("models", "add", name, *args).exit_code == 0

    add(
        "mini",
        "--price-input",
        "1",
        "--price-output",
        "2",
        "--max-completion-tokens",
        "200000",
        "--extra",
        "temperature=0",
        "--daily-cap",
        "5",
        "--api-key-env",
        "MY_OPENROUTER_KEY",
    )
    add("mini-short", "--max-completion-tokens", "1000")  # fmt: skip
    Model.update(is_active=False).where(Model.name == "mini-short").execute()
    result = sync(cli, fake.url, "--match", "gpt-4o-mini")
    assert result.exit_code == 0, result.output
    changes = rows(result)
    assert changes["mini"][0] == "update"
    for change in (
        "price_input_per_m 1 -> 0.15",
        "price_output_per_m 2 -> 0.6",
        "max_completion_tokens 200000 -> 16384",
        "catalog_info.context_length",
    ):
        assert change in changes["mini"][1]  # fmt: skip
    assert changes["mini-short"][0] == "update"
    assert not [c for c in changes["mini-short"][1].split("; ") if c.startswith("max_completion")]
    assert "openai/gpt-4o-mini" not in changes and synced(cli) == {"mini", "mini-short"}
    mini = show(cli, "mini")
    assert (mini["price_input_per_m"], mini["price_output_per_m"]) == (0.15, 0.6)
    assert mini["max_completion_tokens"] == 16384  # lowered to the provider's limit
    assert mini["extra"] == {"temperature": 0} and mini["daily_cap"] == 5
    assert mini["api_key_env"] == "MY_OPENROUTER_KEY" and mini["base_url"] is None
    short = show(cli, "mini-short")
    assert short["max_completion_tokens"] == 1000 and short["is_active"] is False


def test_a_model_missing_from_the_catalogue_is_reported_and_kept(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    added = cli("models", "add", "gone", "--provider", "openrouter", "--model", "vendor/retired")
    assert added.exit_code == 0
    result = sync(cli, fake.url)
    assert rows(result)["gone"] == ("missing", "not in the catalogue; kept")
    assert "; 1 stored not in the catalogue (kept)" in result.stdout
    assert "gone" in synced(cli)
    assert "gone" not in rows(sync(cli, fake.url, "--match", "openai/"))  # not asked about


def test_a_name_taken_by_another_providers_model_is_skipped(
    cli: Invoke, fake: FakeLLMServer
) -> None:
    taken = cli("models", "add", "openai/gpt-5-mini", "--provider", "openai", "--model", "gpt-5")
    assert taken.exit_code == 0
    result = sync(cli, fake.url, "--match", "openai/", "--show-skipped")
    assert rows(result)["openai/gpt-5-mini"] == (
        "skip",
        "name taken by a model of provider openai (gpt-5)",
    )
    assert show(cli, "openai/gpt-5-mini")["provider"] == "openai"


def test_a_synced_model_plays_against_the_fake(cli: Invoke, fake: FakeLLMServer) -> None:
    assert sync(cli, fake.url, "--match", "gpt-4o-mini").exit_code == 0
    played = cli(
        "play", "openai/gpt-4o-mini", "greedy", "--max-rounds", "3", "--json", "--quiet",
        OPENROUTER_API_KEY="sk-or-test",
    )  # fmt: skip
    assert played.exit_code == 0, played.output
    assert json.loads(played.stdout)["status"] == "completed"
    assert fake.stats()["total"]["ok"] >= 1


def test_prices_sent_as_json_numbers_convert_exactly_too(cli: Invoke) -> None:
    entry = _entry(pricing__prompt=1.5e-07, pricing__completion=6e-07, context_length=0)
    with FakeLLMServer(FakeOptions(catalogue={"data": [entry]})) as server:
        assert sync(cli, server.url).exit_code == 0
    odd = show(cli, "vendor/odd")
    assert (odd["price_input_per_m"], odd["price_output_per_m"]) == (0.15, 0.6)
    assert "context_length" not in odd["catalog_info"]  # 0: not stated


def test_hostile_text_in_the_catalogue_is_neither_stored_nor_shown(cli: Invoke) -> None:
    escape = "\x1b]0;pwned\x07"
    entries = [
        _entry(id=f"vendor/{escape}evil"),
        _entry(id="vendor/titled", name=f"{escape}Title", supported_parameters=[escape, "tools"]),
    ]
    with FakeLLMServer(FakeOptions(catalogue={"data": entries})) as server:
        result = sync(cli, server.url, "--show-skipped")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "not printable" in result.output
    assert synced(cli) == {"vendor/titled"}
    info = show(cli, "vendor/titled")["catalog_info"]
    assert "title" not in info and info["supported_parameters"] == ["tools"]


# --- failures: one line, exit 2, nothing stored -------------------------------------------


class _HtmlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Just a moment...</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def html_server() -> Iterator[str]:
    """A server answering every GET with an HTML page, as a proxy or a captive portal."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()


def one_error_line(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_an_address_with_no_catalogue_is_one_line(cli: Invoke, fake: FakeLLMServer) -> None:
    result = cli("models", "sync", "openrouter", "--base-url", f"{fake.url}/nowhere")
    one_error_line(result, f"{fake.url}/nowhere/models answered HTTP 404")


def test_an_unreachable_catalogue_is_one_line(cli: Invoke) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    result = cli("models", "sync", "openrouter", "--base-url", f"http://127.0.0.1:{port}/v1")
    one_error_line(result, f"cannot reach http://127.0.0.1:{port}/v1/models", "refused")


def test_a_catalogue_that_never_answers_times_out(cli: Invoke) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        result = cli("models", "sync", "openrouter", "--base-url", url, "--timeout", "1")
    one_error_line(result, f"{url}/models", "timed out")


def test_a_page_that_is_not_json_is_one_line(cli: Invoke, html_server: str) -> None:
    result = cli("models", "sync", "openrouter", "--base-url", html_server)
    one_error_line(result, f"{html_server}/models did not send JSON")


def _catalogue_with(bad: Any) -> dict[str, Any]:
    """The built-in catalogue with ``bad`` appended: the good entries come first."""
    catalogue = copy.deepcopy(BUILTIN_CATALOGUE)
    catalogue["data"].append(bad)
    return catalogue


def _entry(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(BUILTIN_CATALOGUE["data"][0])
    entry["id"] = "vendor/odd"
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = entry
        for parent in parents:
            target = target[parent]
        target[last] = value
    return entry


@pytest.mark.parametrize(
    ("catalogue", "fragment"),
    [
        ({"models": []}, 'the catalogue is not {"data": [...]}'),
        ([1, 2], 'the catalogue is not {"data": [...]}'),
        (_catalogue_with("openai/gpt-4o"), "catalogue entry #11 is not an object"),
        (_catalogue_with({"name": "no id"}), "catalogue entry #11 has no id"),
        (_catalogue_with(_entry(pricing=None)), "#11 (vendor/odd): pricing is null"),
        (_catalogue_with(_entry(pricing__prompt="cheap")), 'pricing.prompt is "cheap"'),
        (_catalogue_with(_entry(pricing__completion=None)), "pricing.completion is null"),
        (_catalogue_with(_entry(pricing__prompt="NaN")), 'pricing.prompt is "NaN"'),
        (_catalogue_with(_entry(context_length="lots")), 'context_length is "lots"'),
        (_catalogue_with(_entry(top_provider__max_completion_tokens=-5)),
         "top_provider.max_completion_tokens is -5"),
        (_catalogue_with(_entry(supported_parameters="tools")), 'supported_parameters is "tools"'),
    ],
)  # fmt: skip
def test_a_catalogue_in_another_shape_stores_nothing(
    cli: Invoke, catalogue: Any, fragment: str
) -> None:
    stored = ["models", "add", "mini", "--provider", "openrouter", "--model", "openai/gpt-4o-mini"]
    assert cli(*stored, "--price-input", "1").exit_code == 0
    with FakeLLMServer(FakeOptions(catalogue=catalogue)) as server:
        one_error_line(sync(cli, server.url), fragment)
    assert synced(cli) == {"mini"} and show(cli, "mini")["price_input_per_m"] == 1


# --- bad options: exit 2, no traceback ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["anthropic"], "only openrouter has a catalogue to sync from, not 'anthropic'"),
        (["openrouter", "--base-url", "ftp://example.com/v1"], "--base-url"),
        (["openrouter", "--base-url", "openrouter.ai"], "--base-url"),
        (["openrouter", "--max-price", "nan"], "--max-price"),
        (["openrouter", "--max-input-price", "inf"], "--max-input-price"),
        (["openrouter", "--max-output-price", "-1"], "--max-output-price"),
        (["openrouter", "--min-completion-tokens", "0"], "--min-completion-tokens"),
        (["openrouter", "--match", " "], "--match"),
        (["openrouter", "--require-parameter", ""], "--require-parameter"),
        (["openrouter", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_options_are_usage_errors(cli: Invoke, args: list[str], fragment: str) -> None:
    result = cli("models", "sync", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert fragment in result.output.strip().splitlines()[-1]
