"""The lean HTTP path for a move's Chat Completions request
(snakebench.providers.chat_transport) against the SDK's own ``post`` it stands in for:
the same request on the wire, the same completion or error from the same reply, its
connections kept alive as httpx2 keeps them, and the SDK's ``post`` chosen wherever the
lean path could not honour the SDK's configuration. Both talk to a recording HTTP/1.1
server on loopback."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from httpcore2._utils import is_socket_readable

from snakebench.providers import ModelSpec
from snakebench.providers.base import Completion, ProviderError
from snakebench.providers.chat_transport import (
    ConnectionPool,
    LeanPost,
    SdkPost,
    chat_poster,
    lean_refusal,
)
from snakebench.providers.openai_compat import OpenAICompatClient
from snakebench.testing.support import wait_until

# The reply cases and what each reads as, from the tests of the request built once.
_spec = importlib.util.spec_from_file_location(
    "chat_request_cases", Path(__file__).with_name("test_chat_request.py")
)
assert _spec is not None and _spec.loader is not None
CASES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CASES)

PROMPT = CASES.PROMPT


@dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    port: int  # the client's port: one per connection


@dataclass
class Script:
    """What the server answers: ``reply`` as JSON (``raw`` bytes instead), gzip-encoded
    or chunked on request; ``sleep`` before answering; ``drop`` returns, for the n-th
    request on a connection (from 1), whether to close it without a reply."""

    reply: Any = field(default_factory=lambda: CASES.REPLIES[0])
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    raw: bytes | None = None
    gzip: bool = False
    chunked: bool = False
    sleep: float = 0.0
    close_after: bool = False
    drop: Callable[[int], bool] = lambda nth: False
    echo: bool = False  # answer with the request's prompt as the content


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.script = Script()
        self.seen: list[Seen] = []
        scheme, host = ("https", "localhost") if tls else ("http", "127.0.0.1")
        self.url = f"{scheme}://{host}:{self.server_port}/v1"

    @property
    def connections(self) -> int:
        return len({seen.port for seen in self.seen})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.nth = getattr(self, "nth", 0) + 1
        script = self.server.script
        self.server.seen.append(
            Seen("POST", self.path, list(self.headers.items()), body, self.client_address[1])
        )
        if script.drop(self.nth):
            self.close_connection = True
            return
        time.sleep(script.sleep)
        reply = script.reply
        if script.echo:
            reply = {
                "choices": [{"message": {"content": json.loads(body)["messages"][0]["content"]}}]
            }
        content = script.raw if script.raw is not None else json.dumps(reply).encode()
        self.send_response(script.status)
        self.send_header("Content-Type", script.content_type)
        for name, value in script.headers.items():
            self.send_header(name, value)
        if script.gzip:
            content = gzip.compress(content)
            self.send_header("Content-Encoding", "gzip")
        if script.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(content), 7):
                piece = content[start : start + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        self.close_connection = script.close_after


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Recorder]:
    recorder = Recorder(tls)
    thread = threading.Thread(target=recorder.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield recorder
    finally:
        recorder.shutdown()
        recorder.server_close()
        thread.join()


@pytest.fixture
def server() -> Iterator[Recorder]:
    with serving() as recorder:
        yield recorder


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """An HTTPS recorder on localhost with a self-signed certificate, trusted through
    SSL_CERT_FILE (which httpx2 honours when it builds the SDK client's TLS context)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with serving(context) as recorder:
        yield recorder


def client_for(url: str, timeout: float = 30.0, **fields: Any) -> OpenAICompatClient:
    spec = ModelSpec(fields.pop("name", "m"), fields.pop("provider", "openai-compatible"),
                     "m-slug", url, **fields)  # fmt: skip
    return OpenAICompatClient(spec, url, "sk-test", timeout, {"X-Title": "bench"})


def lean(client: OpenAICompatClient) -> LeanPost:
    poster = client._chat_poster()
    assert isinstance(poster, LeanPost)
    return poster


def via_sdk(client: OpenAICompatClient) -> OpenAICompatClient:
    """The same model, its moves posted by the SDK's ``post`` (on its own SDK client, so
    the two paths share no connection)."""
    twin = client_for(client.spec.base_url or "", client._timeout)
    twin.spec, twin._request = client.spec, client._request
    twin._sdk = openai.OpenAI(
        base_url=client.spec.base_url,
        api_key="sk-test",
        max_retries=0,
        timeout=client._timeout,
        default_headers={"X-Title": "bench"},
    )
    twin._poster = (twin._sdk, SdkPost(twin._sdk, twin._request.options))
    return twin


def outcome(client: OpenAICompatClient) -> Completion | tuple[str, str, float | None]:
    try:
        return client.complete(PROMPT)
    except ProviderError as exc:
        return type(exc).__name__, str(exc), getattr(exc, "retry_after", None)


SPECS = {
    "plain": {},
    "openai": {"provider": "openai", "max_completion_tokens": 900},
    "extras": {
        "extra": {
            "extra_headers": {"X-Custom": "1"},
            "extra_query": {"api-version": "2025-01-01"},
            "extra_body": {"top_k": 5},
            "temperature": 0.2,
            "provider": {"sort": "price"},
        }
    },
}


@pytest.mark.parametrize("fields", SPECS.values(), ids=SPECS)
def test_the_request_is_the_one_the_sdk_post_sends(server: Recorder, fields: Any) -> None:
    client = client_for(server.url, **fields)
    lean(client)
    client.complete(PROMPT)
    via_sdk(client).complete(PROMPT)
    ours, theirs = server.seen
    assert (ours.method, ours.path) == (theirs.method, theirs.path)
    assert sorted((k.lower(), v) for k, v in ours.headers) == sorted(
        (k.lower(), v) for k, v in theirs.headers
    )
    assert json.loads(ours.body) == json.loads(theirs.body)


REPLY_CASES = list(zip(CASES.REPLIES, CASES.READ_BEFORE, strict=True))


@pytest.mark.parametrize(("reply", "expected"), REPLY_CASES, ids=range(len(REPLY_CASES)))
@pytest.mark.parametrize("framing", ["plain", "gzip", "chunked", "text/plain"])
def test_a_reply_reads_as_through_the_sdk(
    server: Recorder, reply: Any, expected: Any, framing: str
) -> None:
    server.script = Script(reply, gzip=framing == "gzip", chunked=framing == "chunked")
    if framing == "text/plain":
        server.script.content_type = "text/plain; charset=utf-8"
    client = client_for(server.url, name="routed")
    lean(client)
    ours = outcome(client)
    assert ours == outcome(via_sdk(client))
    if isinstance(expected, Completion):
        assert ours == expected


@pytest.mark.parametrize(
    "script",
    [
        Script({"error": {"message": "bad field"}}, 400),
        Script({"error": {"message": "bad key sk-test"}}, 401),
        Script({"error": {"message": "no such model"}}, 404),
        Script({"error": {"message": "slow down"}}, 429, {"Retry-After": "7"}),
        Script(None, 500, raw=b"<html>oops</html>", content_type="text/html"),
        Script({"error": {"message": "later"}}, 503, {"retry-after-ms": "1500"}, gzip=True),
        Script(None, 200, {"Content-Encoding": "gzip"}, raw=b"not gzip at all"),
    ],
    ids=["400", "401", "404", "429", "500", "503-gzip", "200-undecodable"],
)
def test_an_error_or_undecodable_reply_maps_as_through_the_sdk(
    server: Recorder, script: Script
) -> None:
    server.script = script
    client = client_for(server.url)
    lean(client)
    ours = outcome(client)
    assert isinstance(ours, tuple) and ours == outcome(via_sdk(client))


def test_a_timeout_maps_as_through_the_sdk(server: Recorder) -> None:
    server.script = Script(sleep=1.0)
    client = client_for(server.url, timeout=0.2)
    lean(client)
    ours = outcome(client)
    assert isinstance(ours, tuple) and "no reply within 0.2 s" in ours[1]
    assert ours == outcome(via_sdk(client))


def test_a_refused_connection_maps_as_through_the_sdk() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"  # nothing listens
    client = client_for(url)
    lean(client)
    ours = outcome(client)
    assert isinstance(ours, tuple) and "connection failed (ConnectError)" in ours[1]
    assert ours == outcome(via_sdk(client))


def test_a_connection_closed_without_a_reply_is_not_retried(server: Recorder) -> None:
    server.script = Script(drop=lambda nth: True)
    client = client_for(server.url)
    lean(client)
    ours = outcome(client)
    assert isinstance(ours, tuple) and "RemoteProtocolError" in ours[1]
    assert len(server.seen) == 1
    assert ours == outcome(via_sdk(client))


def test_calls_share_one_kept_alive_connection(server: Recorder) -> None:
    client = client_for(server.url)
    for _ in range(10):
        client.complete(PROMPT)
    assert (server.connections, len(server.seen), lean(client)._pool.opened) == (1, 10, 1)


def test_a_connection_the_server_closed_while_idle_is_replaced(server: Recorder) -> None:
    """Once the server's close has arrived (the idle socket reads as closed), the next
    move takes a new connection. (A close still on its way when the next request is
    written is a failed call, left to the retry policy, as with httpcore2: the request
    may have reached the server.)"""
    server.script = Script(close_after=True)
    client = client_for(server.url)
    first = client.complete(PROMPT)
    [(idle, _)] = lean(client)._pool._idle
    wait_until(lambda: is_socket_readable(idle), 10, "the server's close to arrive")
    assert client.complete(PROMPT) == first
    assert server.connections == 2


def test_a_request_written_on_a_reused_connection_is_not_sent_again(server: Recorder) -> None:
    """The server had the request (it may be generating the reply, and billing it):
    a second send is the retry policy's to make, counted, as the SDK leaves it."""
    server.script = Script(drop=lambda nth: nth == 2)  # the second request on a connection
    client = client_for(server.url)
    client.complete(PROMPT)
    ours = outcome(client)
    assert isinstance(ours, tuple) and "RemoteProtocolError" in ours[1]
    assert (len(server.seen), server.connections) == (2, 1)


def test_a_retired_pool_closes_its_idle_connections(server: Recorder) -> None:
    client = client_for(server.url)
    client.complete(PROMPT)
    pool = lean(client)._pool
    [(sock, _)] = pool._idle
    pool.retire()
    assert pool.retired and pool._idle == [] and sock.fileno() == -1


def test_an_idle_connection_past_its_expiry_is_not_reused(server: Recorder) -> None:
    client = client_for(server.url)
    client.complete(PROMPT)
    lean(client)._pool._expiry = 0.0
    client.complete(PROMPT)
    assert server.connections == 2


def test_concurrent_moves_get_their_own_replies(server: Recorder) -> None:
    server.script = Script(echo=True)
    client = client_for(server.url)
    prompts = [f"move {n}" for n in range(80)]
    with ThreadPoolExecutor(8) as threads:
        texts = list(threads.map(lambda prompt: client.complete(prompt).text, prompts))
    assert (texts, len(server.seen)) == (prompts, 80)
    assert lean(client)._pool.opened <= 8


def test_a_redirect_is_followed_by_the_sdk(server: Recorder) -> None:
    client = client_for(server.url)
    lean(client)
    server.script = Script(None, 307, {"Location": "/v1/chat/completions?moved=1"})
    calls = []
    original = Handler.do_POST

    def moved(handler: Handler) -> None:
        calls.append(handler.path)
        if handler.path.endswith("moved=1"):
            handler.server.script = Script()
        original(handler)

    Handler.do_POST = moved  # type: ignore[method-assign]
    try:
        assert client.complete(PROMPT) == CASES.READ_BEFORE[0]
    finally:
        Handler.do_POST = original  # type: ignore[method-assign]
    assert calls[-1].endswith("moved=1")


def test_after_a_cookie_the_sdk_post_serves_and_sends_it(server: Recorder) -> None:
    server.script = Script(headers={"Set-Cookie": "lb=a1; Path=/"})
    client = client_for(server.url)
    lean(client)
    client.complete(PROMPT)
    client.complete(PROMPT)
    assert ("Cookie", "lb=a1") in server.seen[-1].headers
    assert dict(client._sdk._client.cookies) == {"lb": "a1"}
    assert isinstance(chat_poster(client._sdk, client._request.options), SdkPost)


@pytest.mark.parametrize(
    ("env", "url", "lean_path"),
    [
        ({"HTTPS_PROXY": "http://127.0.0.1:9"}, "https://api.example.test/v1", False),
        ({"https_proxy": "http://127.0.0.1:9"}, "https://api.example.test/v1", False),
        ({"HTTP_PROXY": "http://127.0.0.1:9"}, "http://api.example.test/v1", False),
        ({"ALL_PROXY": "http://127.0.0.1:9"}, "https://api.example.test/v1", False),
        ({"HTTPS_PROXY": "http://127.0.0.1:9"}, "http://api.example.test/v1", True),
        (
            {"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "api.example.test"},
            "https://api.example.test/v1",
            True,
        ),
        ({}, "https://api.example.test/v1", True),
    ],
)
def test_a_proxy_from_the_environment_keeps_the_sdk_post(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, lean_path: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sdk = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    poster = chat_poster(sdk, {"security": {"bearer_auth": True}})
    assert isinstance(poster, LeanPost) is lean_path
    assert (lean_refusal(sdk) is None) is lean_path


def test_an_sdk_client_given_its_own_http_client_keeps_the_sdk_post() -> None:
    import httpx2

    sdk = openai.OpenAI(base_url="http://x.test/v1", api_key="k", http_client=httpx2.Client())
    assert isinstance(chat_poster(sdk, {}), SdkPost)


def test_https_moves_go_over_one_verified_connection(tls_server: Recorder) -> None:
    client = client_for(tls_server.url)
    lean(client)
    for _ in range(3):
        assert client.complete(PROMPT) == CASES.READ_BEFORE[0]
    via_sdk(client).complete(PROMPT)
    ours, theirs = tls_server.seen[0], tls_server.seen[-1]
    assert sorted(ours.headers) == sorted(theirs.headers)
    assert (tls_server.connections, lean(client)._pool.opened) == (2, 1)


def test_https_uses_the_tls_context_httpx2_built() -> None:
    sdk = openai.OpenAI(base_url="https://api.example.test/v1", api_key="k")
    pool = ConnectionPool.of(sdk)
    assert pool._tls is sdk._client._transport._pool._ssl_context  # type: ignore[attr-defined]
