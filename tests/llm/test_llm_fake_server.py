"""The fake provider server over plain HTTP: shapes, endpoints, options, safety."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def exchange(server: FakeLLMServer, data: bytes, replies: int = 1) -> list[bytes]:
    """Send raw bytes on one connection; the status lines of ``replies`` replies, then
    b"" if the server closed the connection after them (else b"open")."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        stream = sock.makefile("rb")
        seen = []
        for _ in range(replies):
            status = stream.readline()
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            stream.read(length)
            seen.append(status.strip())
        sock.settimeout(0.5)
        try:
            seen.append(b"" if stream.read(1) == b"" else b"more")
        except TimeoutError:
            seen.append(b"open")
        return seen


def post(path: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_keep_alive_answers_requests_in_turn_on_one_connection(
    fake_server: StartServer,
) -> None:
    server = fake_server(latency_ms=30)
    body = json.dumps(CHAT).encode()
    requests = post("/v1/chat/completions", body) * 3  # sent at once: answered in order
    assert exchange(server, requests, replies=3) == [b"HTTP/1.1 200 OK"] * 3 + [b"open"]
    assert server.stats()["total"]["requests"] == 3


def test_connection_close_and_http_1_0_close_after_the_reply(fake_server: StartServer) -> None:
    server = fake_server()
    closing = post("/v1/chat/completions", json.dumps(CHAT).encode(), "Connection: close\r\n")
    assert exchange(server, closing) == [b"HTTP/1.1 200 OK", b""]
    assert exchange(server, b"GET /healthz HTTP/1.0\r\n\r\n") == [b"HTTP/1.1 200 OK", b""]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (
            post("/v1/messages", b"", "Transfer-Encoding: chunked\r\n"),
            b"HTTP/1.1 411 Length Required",
        ),
        (b"POST /v1/messages HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
        (b"GET /" + b"a" * 70_000, b"HTTP/1.1 431 Request Header Fields Too Large"),
        (b"DELETE /stats HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed"),
    ],
)
def test_unreadable_http_is_answered_not_dropped(
    fake_server: StartServer, request_bytes: bytes, status: bytes
) -> None:
    server = fake_server()
    assert exchange(server, request_bytes)[0] == status
    assert call(f"{server.url}/healthz")[0] == 200  # and the server goes on serving


def test_a_client_gone_mid_wait_frees_its_slot_when_the_reply_falls_due(
    fake_server: StartServer,
) -> None:
    """As a real provider counts a request until it has answered it, whoever left."""
    server = fake_server(latency_ms=300, max_concurrency=1)
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(post("/v1/chat/completions", json.dumps(CHAT).encode()))
        time.sleep(0.1)
    assert server.stats()["limits"]["in_flight"] == 1
    assert call(f"{server.url}/v1/chat/completions", CHAT)[0] == 429
    time.sleep(0.4)
    assert server.stats()["limits"]["in_flight"] == 0
    assert call(f"{server.url}/v1/chat/completions", CHAT)[0] == 200


def test_a_reply_waits_its_latency_without_holding_up_others(fake_server: StartServer) -> None:
    """Many requests in flight share one event loop: each waits its own time, together."""
    server = fake_server(latency_ms=400)
    chats = [post("/v1/chat/completions", json.dumps(CHAT).encode())] * 64
    with ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(lambda data: exchange(server, data)[0], chats))
    assert statuses == [b"HTTP/1.1 200 OK"] * 64
    assert server.stats()["limits"]["peak_concurrency"] > 32  # waited side by side


def test_a_body_over_the_limit_is_refused_before_it_is_read(fake_server: StartServer) -> None:
    server = fake_server()
    head = b"POST /v1/messages HTTP/1.1\r\nContent-Length: 17000000\r\n\r\n"
    assert exchange(server, head)[0].startswith(b"HTTP/1.1 413 ")
    negative = b"POST /v1/messages HTTP/1.1\r\nContent-Length: -5\r\n\r\n"
    assert exchange(server, negative)[0] == b"HTTP/1.1 400 Bad Request"
