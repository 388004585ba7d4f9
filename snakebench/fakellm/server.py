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

import asyncio
import contextlib
import ipaddress
import json
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
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

# A request head larger than this is refused (431) rather than buffered without end.
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass
class Reply:
    """One answer: sent ``delay`` seconds after the request (the injected latency and
    hang), with ``release`` (the request's slot in the server's limits) called just
    before it goes out."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    release: Callable[[], None] | None = None


class FakeApp:
    """The server's behaviour, apart from HTTP: one request body in, one reply out.
    It never sleeps: the wait a reply asks for is the server's to keep."""

    def __init__(self, options: FakeOptions) -> None:
        self.options = options
        self.dice = Dice(options)
        self.stats = FakeStats()
        self.limits = ServerLimits(options.max_concurrency, options.max_rpm)

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
            reply = self._serve(wire, request)
        except BaseException:
            self.limits.done()
            raise
        # The slot is freed when the reply is ready to go, not before: see ServerLimits.
        reply.release = self.limits.done
        return reply

    def stats_snapshot(self) -> dict[str, Any]:
        """``/stats``: the counts per model and in total, and the limits' peaks."""
        return {**self.stats.snapshot(), "limits": self.limits.snapshot()}

    def _serve(self, wire: Wire, request: FakeRequest) -> Reply:
        model, prompt = request.model, request.prompt
        fault = self.dice.fault()
        self.stats.record(model, CATEGORY[fault])
        delay = self.dice.latency()
        if fault == "error":
            body = wire.error("server", "The fake server had an error (injected).")
            return Reply(500, body, delay=delay)
        if fault == "rate_limit":
            headers = {"Retry-After": f"{self.options.retry_after:g}"}
            body = wire.error("rate_limit", "Rate limit reached (injected).")
            return Reply(429, body, headers, delay=delay)
        if fault == "timeout":
            delay += self.options.hang_seconds
        if fault == "malformed":
            text = malformed_reply(self.dice)
        else:
            text = move_reply(prompt, self.strategy_for(model), self.options.seed, self.dice)
        reply = fake_reply(request, text, reasoning_summary(text))
        return Reply(200, wire.success(model, reply), delay=delay)


class _BadRequest(Exception):
    """A request the HTTP layer cannot read: answered with ``status``, then closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    keep_alive: bool


class _Connection(asyncio.Protocol):
    """One client connection: HTTP/1.1 with keep-alive, as the SDKs speak it, one
    request at a time (the next is read once the last is answered).

    One event loop serves every connection, its waits being timers rather than sleeping
    threads: at hundreds of requests in flight a thread each cost the fake more CPU than
    the games it serves (docs/PERFORMANCE.md, issue 19)."""

    def __init__(self, app: FakeApp, connections: set[_Connection]) -> None:
        self.app = app
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answering = False  # a request is being answered; later bytes wait
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Head and body go out in one write, but a reply's write must never wait
            # for the client's delayed ACK (~40 ms on loopback) behind the last one.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        """A client that goes away mid-request (a killed worker, its own timeout) is
        routine: a pending reply still frees its slot when due, then goes nowhere."""
        self.transport = None
        self.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._next()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.close()

    def _next(self) -> None:
        if self.answering or self.transport is None:
            return
        try:
            request = self._read()
        except _BadRequest as exc:
            self._send(Reply(exc.status, {"error": {"message": str(exc)}}), keep_alive=False)
            return
        if request is None:
            return
        self.answering = True
        try:
            reply = self._answer(request)
        except Exception:  # a bug in the fake: say so where its operator looks
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"error": {"message": "the fake server failed; see its log"}})
        if reply.delay > 0:
            self.timer = asyncio.get_running_loop().call_later(
                reply.delay, self._send, reply, request.keep_alive
            )
        else:
            self._send(reply, request.keep_alive)

    def _read(self) -> _Request | None:
        """The next whole request in the buffer, taken out of it; None if not all here."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _BadRequest(431, "request head too large")
            return None
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        words = lines[0].split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            raise _BadRequest(400, f"bad request line {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise _BadRequest(400, f"bad header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _BadRequest(411, "send the body with a Content-Length")
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            raise _BadRequest(400, "bad Content-Length") from None
        if length < 0:
            raise _BadRequest(400, "bad Content-Length")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            words[2] != "HTTP/1.0" or "keep-alive" in connection
        )
        return _Request(words[0], words[1].split("?", 1)[0], headers, body, keep_alive)

    def _answer(self, request: _Request) -> Reply:
        app, path = self.app, request.path
        if request.method == "GET":
            if path == "/stats":
                return Reply(200, app.stats_snapshot())
            if path == "/healthz":
                return Reply(200, {"ok": True})
            if path in CATALOGUE_PATHS:  # OpenRouter's model list, for `models sync`
                return Reply(200, catalogue_body(app.options.catalogue))
            return Reply(404, {"error": f"no such path {path}"})
        if request.method != "POST":
            return Reply(405, {"error": {"message": f"method {request.method} not allowed"}})
        wire = WIRES.get(path)
        if wire is None:
            return Reply(404, {"error": {"message": f"no such path {path}"}})
        return app.respond(wire, request.body, request.headers)

    def _send(self, reply: Reply, keep_alive: bool) -> None:
        self.timer = None
        if reply.release is not None:
            reply.release()
        self.answering = False
        if self.transport is None:
            return
        payload = json.dumps(reply.body).encode()
        head = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", "Server: snakebench-fake-llm"]
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        if not keep_alive:
            head.append("Connection: close")
        self.transport.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + payload)
        if keep_alive:  # a request already buffered is read on the loop's next turn, so
            # a client that pipelines many requests never deepens this call stack
            asyncio.get_running_loop().call_soon(self._next)
        else:
            self.transport.close()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


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
    ``start()`` (or ``with``) serves from a background thread, ``serve()`` from this one."""

    def __init__(
        self, options: FakeOptions | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        check_loopback(host)
        self.app = FakeApp(options or FakeOptions())
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
            # Benchmarks open hundreds of connections at once: a short backlog would
            # leave clients stalling on connection retries.
            self._sock.listen(1024)
        except OSError:
            self._sock.close()
            raise
        bound_host, bound_port = self._sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[_Connection] = set()

    def start(self) -> FakeLLMServer:
        serving = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(serving,), name="fake-llm", daemon=True
        )
        self._thread.start()
        serving.wait()
        return self

    def serve(self) -> None:
        """Serve in this thread until Ctrl+C, then stop."""
        with contextlib.suppress(KeyboardInterrupt):
            self._run(threading.Event())

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            self._thread = None
        self._sock.close()

    def stats(self) -> dict[str, Any]:
        return self.app.stats_snapshot()

    def _run(self, serving: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        server: asyncio.Server | None = None
        try:
            server = loop.run_until_complete(
                loop.create_server(
                    lambda: _Connection(self.app, self._connections), sock=self._sock
                )
            )
            serving.set()
            loop.run_forever()
        finally:
            serving.set()
            for connection in list(self._connections):
                connection.close()
            if server is not None:
                server.close()
            loop.run_until_complete(asyncio.sleep(0))  # let the transports close
            loop.close()

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
