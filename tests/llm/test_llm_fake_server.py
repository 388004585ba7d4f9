"""The fake provider server over plain HTTP: shapes, endpoints, options, safety."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from snakebench.fakellm.faults import FakeOptions
from snakebench.fakellm.player import MALFORMED_REPLIES
from snakebench.fakellm.server import FakeApp, FakeLLMServer, check_loopback
from snakebench.players.parse import parse_move

StartServer = Callable[..., FakeLLMServer]
CHAT = {"model": "m", "messages": [{"role": "user", "content": "no board here"}]}


def call(url: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any, Any]:
    """(status, JSON body, headers) of a GET (no body) or POST."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def test_health_and_unknown_paths(fake_server: StartServer) -> None:
    server = fake_server()
    assert call(f"{server.url}/healthz")[:2] == (200, {"ok": True})
    assert call(f"{server.url}/nope")[0] == 404
    assert call(f"{server.url}/v1/nope", CHAT)[0] == 404


def test_openai_reply_shape_and_random_move_without_a_board(fake_server: StartServer) -> None:
    server = fake_server()
    status, body, _ = call(f"{server.url}/v1/chat/completions", CHAT)
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "m"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    content = body["choices"][0]["message"]["content"]
    assert parse_move(content)[1] == "final_line"
    usage = body["usage"]
    assert usage["prompt_tokens"] == len("no board here") // 4
    assert usage["completion_tokens"] == len(content) // 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_anthropic_error_shape_and_retry_after(fake_server: StartServer) -> None:
    server = fake_server(rate_limit_rate=1.0, retry_after=7)
    status, body, headers = call(f"{server.url}/v1/messages", {**CHAT, "max_tokens": 10})
    assert status == 429 and headers["Retry-After"] == "7"
    assert body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Rate limit reached (injected)."},
    }
    server = fake_server(error_rate=1.0)
    status, body, _ = call(f"{server.url}/v1/messages", CHAT)
    assert status == 500 and body["error"]["type"] == "api_error"
    status, body, _ = call(f"{server.url}/v1/chat/completions", CHAT)
    assert status == 500 and body["error"]["type"] == "server_error"


def test_unreadable_requests_are_400_and_counted(fake_server: StartServer) -> None:
    server = fake_server()
    assert call(f"{server.url}/v1/chat/completions", raw=b"{not json")[0] == 400
    status, body, _ = call(f"{server.url}/v1/messages", {"model": "m", "messages": []})
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    _, stats, _ = call(f"{server.url}/stats")
    assert stats["total"]["bad_requests"] == 2 and stats["total"]["requests"] == 2


def test_faults_follow_the_rates_and_the_seed(fake_server: StartServer) -> None:
    def run(seed: int) -> list[int]:
        server = fake_server(error_rate=0.25, rate_limit_rate=0.25, seed=seed)
        return [call(f"{server.url}/v1/chat/completions", CHAT)[0] for _ in range(80)]

    first = run(1)
    assert first == run(1)  # same seed, same faults
    assert first != run(2)
    assert 10 < first.count(500) < 30 and 10 < first.count(429) < 30


def test_malformed_replies_hold_no_move() -> None:
    for reply in MALFORMED_REPLIES:
        assert parse_move(reply) == (None, "none")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "10.0.0.1", "example.com", "::"])
def test_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        FakeLLMServer(FakeOptions(), host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_accepts_loopback_hosts(host: str) -> None:
    check_loopback(host)


@pytest.mark.parametrize(
    "options",
    [{"error_rate": 1.5}, {"malformed_rate": -0.1}, {"strategy": "genius"}, {"latency_ms": -1}],
)
def test_options_are_validated(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FakeOptions(**options)


def test_serve_forever_prints_its_url_and_stops_on_ctrl_c() -> None:
    code = (
        "from snakebench.fakellm.server import FakeOptions, serve_forever\n"
        "serve_forever(FakeOptions(), '127.0.0.1', 0)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        assert call(f"{url.group()}/healthz")[:2] == (200, {"ok": True})
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
        assert process.stderr is not None and "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_a_model_named_after_a_bot_plays_that_bot() -> None:
    """One server, several models of different strength: fake/BOT picks the strategy."""
    app = FakeApp(FakeOptions(strategy="greedy"))
    assert app.strategy_for("fake/survivor") == "survivor"
    assert app.strategy_for("ollama:random") == "random"
    assert app.strategy_for("gpt-4o-mini") == "greedy"
    assert app.strategy_for("fake/unknown-bot") == "greedy"
