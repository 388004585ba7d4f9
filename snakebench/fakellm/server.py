"""An offline stand-in for LLM providers, on loopback only.

It speaks OpenAI Chat Completions (``POST /v1/chat/completions``), OpenAI's Responses
API (``POST /v1/responses``) and Anthropic Messages (``POST /v1/messages``), so the
real SDK clients reach it through ``base_url`` (``<url>/v1`` for OpenAI and every
OpenAI-compatible provider, ``<url>`` for Anthropic) and the whole LLM path runs in
tests and drills without a network or a bill. It plays a bot strategy on the board it
reads from the prompt, and injects latency, 429s with ``Retry-After``, 500s, hangs and
malformed replies on request. Like a real provider it can cap requests in flight and
per minute, answering 429 past either (:mod:`snakebench.fakellm.limits`).

Requests that ask for reasoning (``reasoning_effort``, the Responses API's
``reasoning``, OpenRouter's ``reasoning`` object, Claude's ``thinking``) get reasoning
tokens in their usage and, where the API shows it, a one-sentence reasoning text about
the move (a Responses summary, OpenRouter's ``reasoning`` field, a thinking block).
A Chat Completions body with OpenRouter's ``usage: {include: true}`` gets
``usage.cost`` at the fake's prices (see :mod:`snakebench.fakellm.usage`).
``GET /stats`` reports what it sent, the peak concurrency it saw and the OpenRouter
attribution headers it received (requests per ``X-Title`` and per ``HTTP-Referer``);
``GET /healthz`` answers ``{"ok": true}``.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import socketserver
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from snakebench.fakellm.catalogue import CATALOGUE_PATHS, catalogue_body
from snakebench.fakellm.faults import CATEGORY, Dice, FakeOptions, FakeStats
from snakebench.fakellm.limits import ServerLimits, retry_headers
from snakebench.fakellm.player import malformed_reply, move_reply, reasoning_summary
from snakebench.fakellm.usage import FakeRequest, fake_reply
from snakebench.fakellm.wire import WIRES, RequestError, Wire
from snakebench.players.bots import BOT_NAMES

__all__ = ["FakeApp", "FakeLLMServer", "FakeOptions", "check_loopback", "serve_forever"]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeApp:
    """The server's behaviour, apart from HTTP: one request body in, one reply out."""

    def __init__(self, options: FakeOptions) -> None:
        self.options = options
        self.dice = Dice(options)
        self.stats = FakeStats()
        self.limits = ServerLimits(options.max_concurrency, options.max_rpm)
        self.stopping = threading.Event()  # wakes sleeping handlers at shutdown

    def strategy_for(self, model: str) -> str:
        """The bot a request's model plays: the one its name ends with after a ``/`` or
        ``:`` (``fake/survivor``, ``ollama:greedy``), else the server's ``--strategy``.
        One server can so stand in for several models of different strength."""
        last = model.replace(":", "/").rsplit("/", 1)[-1]
        return last if last in BOT_NAMES else self.options.strategy

    def respond(self, wire: Wire, raw: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        self.stats.record_attribution(headers or {})
        try:
            request = wire.read_request(json.loads(raw or b"null"))
        except (RequestError, ValueError) as exc:
            self.stats.record("(unreadable)", "bad_requests")
            return Reply(400, wire.error("bad_request", str(exc)))
        wait = self.limits.admit()
        if wait is not None:
            self.stats.record(request.model, "over_limit")
            message = "Rate limit reached: too many requests in flight or in the last minute."
            return Reply(429, wire.error("rate_limit", message), retry_headers(wait))
        try:
            return self._serve(wire, request)
        finally:
            self.limits.done()  # before the reply is sent: see ServerLimits

    def stats_snapshot(self) -> dict[str, Any]:
        """``/stats``: the counts per model and in total, and the limits' peaks."""
        return {**self.stats.snapshot(), "limits": self.limits.snapshot()}

    def _serve(self, wire: Wire, request: FakeRequest) -> Reply:
        model, prompt = request.model, request.prompt
        fault = self.dice.fault()
        self.stats.record(model, CATEGORY[fault])
        self.stopping.wait(self.dice.latency())
        if fault == "error":
            return Reply(500, wire.error("server", "The fake server had an error (injected)."))
        if fault == "rate_limit":
            headers = {"Retry-After": f"{self.options.retry_after:g}"}
            return Reply(429, wire.error("rate_limit", "Rate limit reached (injected)."), headers)
        if fault == "timeout":
            self.stopping.wait(self.options.hang_seconds)
        if fault == "malformed":
            text = malformed_reply(self.dice)
        else:
            text = move_reply(prompt, self.strategy_for(model), self.options.seed, self.dice)
        reply = fake_reply(request, text, reasoning_summary(text))
        return Reply(200, wire.success(model, reply))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect
    # Headers and body go out in two writes; with Nagle on, the second waits for
    # the client's delayed ACK (~40 ms per request on loopback).
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/stats":
            self._send(Reply(200, self.server.app.stats_snapshot()))
        elif path == "/healthz":
            self._send(Reply(200, {"ok": True}))
        elif path in CATALOGUE_PATHS:  # OpenRouter's model list, for `models sync`
            self._send(Reply(200, catalogue_body(self.server.app.options.catalogue)))
        else:
            self._send(Reply(404, {"error": f"no such path {path}"}))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path = self.path.split("?", 1)[0]
        wire = WIRES.get(path)
        if wire is None:
            self._send(Reply(404, {"error": {"message": f"no such path {path}"}}))
            return
        self._send(self.server.app.respond(wire, raw, dict(self.headers.items())))

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout): fine

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a drill sends thousands of requests; /stats has the counts."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open dozens of connections at once; socketserver's backlog of 5
    # would leave clients stalling on connection retries.
    request_queue_size = 1024

    def __init__(self, host: str, port: int, app: FakeApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away mid-request (a killed worker) is routine here."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, a DNS query we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


def check_loopback(host: str) -> None:
    """The fake answers anyone without a key, so it never listens beyond this machine."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the fake LLM server binds to loopback only, not {host!r}")


class FakeLLMServer:
    """The fake server on ``host:port`` (port 0: any free port). Bound at creation;
    ``start()`` (or ``with``) serves from a background thread."""

    def __init__(
        self, options: FakeOptions | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        check_loopback(host)
        self.app = FakeApp(options or FakeOptions())
        self._httpd = _HTTPServer(host, port, self.app)
        self._thread: threading.Thread | None = None
        bound_host, bound_port = str(self._httpd.server_address[0]), self._httpd.server_port
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in this thread until Ctrl+C, then stop."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.app.stopping.set()
            self._httpd.server_close()

    def stop(self) -> None:
        self.app.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def stats(self) -> dict[str, Any]:
        return self.app.stats_snapshot()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(options: FakeOptions, host: str = "127.0.0.1", port: int = 8765) -> None:
    """For the CLI: serve until Ctrl+C, after printing one line with the URL."""
    server = FakeLLMServer(options, host, port)
    print(
        f"fake LLM server on {server.url} (OpenAI base_url {server.url}/v1, "
        f"Anthropic base_url {server.url}); Ctrl+C to stop",
        flush=True,
    )
    server.serve()
