"""A move's Chat Completions request posted over pooled keep-alive ``http.client``
connections instead of the SDK's httpx2/httpcore2 stack.

Why: the SDK's ``post`` was about two thirds of a move's worker CPU, and of that most
went to the SDK rebuilding the same request (``_build_request``) and to httpcore2/h11
moving the bytes; a plain keep-alive POST costs a fraction of it (docs/PERFORMANCE.md,
"CPU per round"). The SDK stays the source of truth for everything but the transport:

- the request line and every header are what the SDK's own ``_build_request`` makes
  (default and user headers, bearer auth, User-Agent, X-Stainless-*, the retry count
  and read-timeout headers, httpx2's Host, Accept-Encoding and Connection), built once
  per model; only ``Content-Length`` is set per move. The body is serialized as the
  SDK serializes it (``openapi_dumps``, extra body fields merged the same way);
- the timeouts are the ones the SDK gives httpx2 for the request (connect, write, read
  per socket operation, pool), the TLS context the very one httpx2 built for the
  client (its CA store, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` included);
- the reply comes out as ``post(cast_to=object)`` returns it, decoded with httpx2's
  own decoders (what its Accept-Encoding advertises); errors come out as the SDK's own
  exceptions (status errors from the SDK's ``_make_status_error_from_response``) over
  the httpx2 exception httpx2 would have raised, so ``map_sdk_error`` stays the one
  mapping;
- keep-alive as httpcore2 keeps it: idle connections expire after the pool's
  ``keepalive_expiry`` and one found closed by the server is dropped. A request that
  could not even be written on a reused connection (the server closed it meanwhile) is
  written once more on a fresh one; a request once written is never sent again here,
  whatever happens to its reply (the server may be generating it: a second send could
  be billed twice), so the retry policy counts and records any retry.

:func:`chat_poster` decides once per SDK client whether this path can honour the SDK's
configuration exactly; where it cannot (see :func:`lean_refusal`) the SDK's ``post``
serves, as it does for a redirect (httpx2 follows them) and after a server sets a
cookie (httpx2 keeps and sends cookies).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import openai

from snakebench.providers.chat_request import CHAT_PATH

# The SDK's HTTP stack from openai 3 on (httpx2), and the SDK's own pieces this path
# reuses; an SDK without them (openai 1 and 2, which pyproject.toml still admits) keeps
# the SDK's post for every move.
try:
    import httpcore2
    import httpx2
    from httpcore2._utils import is_socket_readable
    from openai._base_client import SyncHttpxClientWrapper, _merge_mappings
    from openai._models import FinalRequestOptions
    from openai._utils._json import openapi_dumps

    HTTPX2 = True
except ImportError:  # pragma: no cover
    HTTPX2 = False

if TYPE_CHECKING:
    from openai._types import RequestOptions


# Reply headers that send a 2xx reply through httpx2 (decoding, cookies).
_OFF_THE_HOT_PATH = ("content-encoding", "set-cookie")


class ChatPoster(Protocol):
    """Posts one move's Chat Completions body; returns what the SDK's ``post`` with
    ``cast_to=object`` returns, raises the SDK's exceptions."""

    def post(self, body: dict[str, Any]) -> object: ...


@dataclass(frozen=True)
class SdkPost:
    """The SDK's own ``post``: where the lean path cannot honour its configuration."""

    sdk: openai.OpenAI
    options: Mapping[str, Any]

    def post(self, body: dict[str, Any]) -> object:
        options = cast("RequestOptions", self.options)
        return self.sdk.post(CHAT_PATH, cast_to=object, body=body, options=options)


def lean_refusal(sdk: openai.OpenAI) -> str | None:
    """Why the lean path cannot stand in for this SDK client's ``post``, or None.

    It can where the SDK sends through its own default httpx2 client to an http(s) URL
    directly: a client the user gave (its own transport, hooks, auth), a proxy (from
    HTTP(S)_PROXY/ALL_PROXY as httpx2 read them, NO_PROXY honoured: httpx2's own routing
    is asked), HTTP/2, connect retries, a Unix socket, cookies, per-request credentials
    (an API key provider, workload identity, a provider runtime), idempotency keys or
    strict response validation all keep the SDK's ``post``. Any attribute missing (an
    SDK of another shape) refuses too. Custom CA settings (SSL_CERT_FILE/SSL_CERT_DIR)
    do not: HTTPS goes through the very ``SSLContext`` httpx2 built for the client, so
    they are honoured exactly as the SDK honours them."""
    if not HTTPX2:  # pragma: no cover
        return "an SDK before openai 3 (no httpx2, or not the pieces this path reuses)"
    try:
        client = sdk._client
        if type(client) is not SyncHttpxClientWrapper:
            return "the SDK client was given its own HTTP client"
        url = sdk._prepare_url(CHAT_PATH)
        if url.scheme not in ("http", "https"):
            return f"scheme {url.scheme!r}"
        transport = client._transport_for_url(url)
        if transport is not client._transport or type(transport) is not httpx2.HTTPTransport:
            return "a proxy"
        pool = transport._pool
        if type(pool) is not httpcore2.ConnectionPool or pool._http2 or not pool._http1:
            return "a proxy or HTTP/2"
        if pool._retries or pool._uds or pool._local_address or pool._socket_options:
            return "connection options"
        if type(pool._network_backend) is not httpcore2.SyncBackend:
            return "a network backend of its own"
        if client.cookies or client.auth or any(client.event_hooks.values()):
            return "cookies, auth or event hooks on the HTTP client"
        per_request = ("_provider_runtime", "_api_key_provider", "_workload_identity_auth")
        if any(getattr(sdk, name, None) is not None for name in per_request):
            return "per-request credentials"
        if sdk._idempotency_header or sdk._strict_response_validation:
            return "idempotency keys or strict response validation"
        if sdk._custom_auth({"bearer_auth": True}) is not None:
            return "custom auth"
    except AttributeError as exc:  # pragma: no cover
        return f"an SDK of another shape ({exc})"
    return None


_ENDPOINTS: weakref.WeakKeyDictionary[openai.OpenAI, ConnectionPool | None]
_ENDPOINTS = weakref.WeakKeyDictionary()
_ENDPOINTS_LOCK = threading.Lock()


def chat_poster(sdk: openai.OpenAI, options: Mapping[str, Any]) -> ChatPoster:
    """How one model's moves are posted through ``sdk`` with the request ``options``
    (:attr:`ChatRequest.options`): the lean path, over the connection pool this SDK
    client's models share, or the SDK's ``post``. Decided once per SDK client."""
    with _ENDPOINTS_LOCK:
        if sdk in _ENDPOINTS:
            pool = _ENDPOINTS[sdk]
        else:
            pool = _ENDPOINTS[sdk] = None if lean_refusal(sdk) else ConnectionPool.of(sdk)
    fallback = SdkPost(sdk, options)
    if pool is None or pool.retired:
        return fallback
    return LeanPost.prepare(sdk, options, pool, fallback) or fallback


class ConnectionPool:
    """Keep-alive connections to one origin, shared by the threads of the process.

    At most ``max_connections`` are in use at once (waiting for one is the pool timeout),
    at most ``max_keepalive`` kept idle, each for ``keepalive_expiry`` seconds (httpx2's
    limits for the SDK client). A forked process starts with none of its parent's."""

    def __init__(
        self,
        url: httpx2.URL,
        tls: ssl.SSLContext | None,
        max_connections: int | None,
        max_keepalive: int | None,
        keepalive_expiry: float | None,
    ) -> None:
        self.origin = (url.scheme, url.host, url.port)
        self._address = (url.host, url.port or (443 if url.scheme == "https" else 80))
        self._tls = tls
        self._slots = threading.BoundedSemaphore(max_connections) if max_connections else None
        self._max_idle = max_keepalive
        self._expiry = keepalive_expiry
        self._idle: list[tuple[socket.socket, float]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.opened = 0  # connections made, for the tests
        # Set once a server set a cookie: httpx2 keeps and sends cookies, so from then on
        # the SDK's post serves every model of the endpoint.
        self.retired = False

    @classmethod
    def of(cls, sdk: openai.OpenAI) -> ConnectionPool:
        pool = sdk._client._transport._pool  # type: ignore[attr-defined]
        url = sdk._prepare_url(CHAT_PATH)
        tls = pool._ssl_context if url.scheme == "https" else None
        return cls(
            url,
            tls,
            pool._max_connections,
            pool._max_keepalive_connections,
            pool._keepalive_expiry,
        )

    def acquire(
        self, timeouts: Mapping[str, float | None], fresh: bool
    ) -> tuple[socket.socket, bool]:
        """A connection (and whether it was used before): an idle one unless ``fresh``."""
        if self._slots is not None and not self._slots.acquire(timeout=timeouts["pool"]):
            raise httpx2.PoolTimeout("no connection free within the pool timeout")
        try:
            sock = None if fresh else self._idle_one()
            return (sock, True) if sock is not None else (self._connect(timeouts["connect"]), False)
        except BaseException:
            self._free_slot()
            raise

    def _idle_one(self) -> socket.socket | None:
        """The most recently used idle connection still alive: expired ones and those
        the server closed (readable while idle) are closed, as httpcore2 does."""
        now = time.monotonic()
        with self._lock:
            if self._pid != os.getpid():
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                sock, since = self._idle.pop()
                if (self._expiry is None or now - since < self._expiry) and not is_socket_readable(
                    sock
                ):
                    return sock
                sock.close()
        return None

    def _connect(self, timeout: float | None) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=timeout)
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpx2.ConnectError(str(exc)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except TimeoutError as exc:
            sock.close()
            raise httpx2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            sock.close()
            raise httpx2.ConnectError(str(exc)) from exc
        self.opened += 1
        return sock

    def release(self, sock: socket.socket) -> None:
        """``sock`` done with, its reply read whole: kept for the next request."""
        with self._lock:
            if self._max_idle is None or len(self._idle) < self._max_idle:
                self._idle.append((sock, time.monotonic()))
                sock = None  # type: ignore[assignment]
        if sock is not None:
            sock.close()
        self._free_slot()

    def retire(self) -> None:
        """From now on the SDK's ``post`` serves: the idle connections are closed."""
        self.retired = True
        with self._lock:
            idle, self._idle = self._idle, []
        for sock, _ in idle:
            sock.close()

    def discard(self, sock: socket.socket) -> None:
        sock.close()
        self._free_slot()

    def _free_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()


class _NotWritten(Exception):
    """The request could not be written: ``error`` is what httpx2 raises for it; the
    request may go once more if the connection was a reused one (closed while idle)."""

    def __init__(self, error: httpx2.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    content: bytes


class LeanPost:
    """One model's requests over a shared :class:`ConnectionPool`: the request head as
    the SDK builds it, posted with each move's body."""

    def __init__(
        self,
        sdk: openai.OpenAI,
        request: httpx2.Request,
        extra_json: Mapping[str, Any] | None,
        pool: ConnectionPool,
        fallback: SdkPost,
    ) -> None:
        self._sdk = sdk
        self._url = request.url
        self._extra_json = extra_json
        self._pool = pool
        self._fallback = fallback
        self._timeouts: dict[str, float | None] = request.extensions["timeout"]
        lines = [b"POST " + request.url.raw_path + b" HTTP/1.1"]
        lines += [
            name + b": " + value
            for name, value in request.headers.raw
            if name.lower() != b"content-length"
        ]
        self._head = b"\r\n".join(lines) + b"\r\nContent-Length: "

    @classmethod
    def prepare(
        cls, sdk: openai.OpenAI, options: Mapping[str, Any], pool: ConnectionPool, fallback: SdkPost
    ) -> LeanPost | None:
        """The model's request as the SDK's ``post`` builds it, its body aside (None
        when it would not go to the pool's origin)."""
        final = FinalRequestOptions.construct(method="post", url=CHAT_PATH, json_data={}, **options)
        final = sdk._prepare_options(final)
        request = sdk._build_request(final, retries_taken=0)
        sdk._prepare_request(request)
        if (request.url.scheme, request.url.host, request.url.port) != pool.origin:
            return None  # pragma: no cover
        return cls(sdk, request, final.extra_json, pool, fallback)

    def post(self, body: dict[str, Any]) -> object:
        if self._pool.retired:
            return self._fallback.post(body)
        json_data = _merge_mappings(body, self._extra_json) if self._extra_json else body
        content = openapi_dumps(json_data)
        data = b"%s%d\r\n\r\n%s" % (self._head, len(content), content)
        try:
            reply = self._send(data)
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=self._request()) from exc
        except httpx2.TransportError as exc:
            raise openai.APIConnectionError(request=self._request()) from exc
        if 200 <= reply.status < 300 and not _header_in(reply.headers, _OFF_THE_HOT_PATH):
            content_type = _header(reply.headers, "content-type", "*").split(";")[0]
            if content_type.endswith("json"):
                return json.loads(reply.content)
        return self._read_slowly(reply, body)

    def _send(self, data: bytes) -> Reply:
        """The request sent and its reply read, once more on a fresh connection when a
        reused one could not take the request at all."""
        sock, reused = self._pool.acquire(self._timeouts, fresh=False)
        try:
            return self._exchange(sock, data)
        except _NotWritten as failed:
            if not reused:
                raise failed.error from failed.__cause__
        sock, _ = self._pool.acquire(self._timeouts, fresh=True)
        try:
            return self._exchange(sock, data)
        except _NotWritten as failed:
            raise failed.error from failed.__cause__

    def _exchange(self, sock: socket.socket, data: bytes) -> Reply:
        """One request on ``sock``; ``sock`` goes back to the pool or is closed."""
        timeouts = self._timeouts
        kept = False
        response: http.client.HTTPResponse | None = None
        try:
            try:
                sock.settimeout(timeouts["write"])
                sock.sendall(data)
            except TimeoutError as exc:
                raise httpx2.WriteTimeout(str(exc)) from exc
            except OSError as exc:
                raise _NotWritten(httpx2.WriteError(str(exc))) from exc
            if timeouts["read"] != timeouts["write"]:
                sock.settimeout(timeouts["read"])
            response = http.client.HTTPResponse(sock, method="POST")
            try:
                response.begin()
            except http.client.RemoteDisconnected as exc:
                error = "Server disconnected without sending a response."
                raise httpx2.RemoteProtocolError(error) from exc
            reply = Reply(response.status, response.msg.items(), response.read())
            kept = not response.will_close
            return reply
        except TimeoutError as exc:
            raise httpx2.ReadTimeout(str(exc)) from exc
        except http.client.HTTPException as exc:
            raise httpx2.RemoteProtocolError(str(exc)) from exc
        except OSError as exc:
            raise httpx2.ReadError(str(exc)) from exc
        finally:
            if kept:
                self._pool.release(sock)
            else:
                if response is not None:
                    response.close()  # its file object holds the socket open too
                self._pool.discard(sock)

    def _read_slowly(self, reply: Reply, body: dict[str, Any]) -> object:
        """A reply off the hot path (an error, a redirect, an encoded body, a cookie, not
        JSON) read through httpx2 and the SDK as ``post`` reads it."""
        try:
            response = httpx2.Response(
                reply.status, headers=reply.headers, content=reply.content, request=self._request()
            )
        except httpx2.DecodingError as exc:
            raise openai.APIConnectionError(request=self._request()) from exc
        if response.headers.get("set-cookie"):
            self._sdk._client.cookies.extract_cookies(response)
            self._pool.retire()
        if response.has_redirect_location:
            return self._fallback.post(body)  # httpx2 follows redirects
        if not response.is_success:
            raise self._sdk._make_status_error_from_response(response)
        content_type = response.headers.get("content-type", "*").split(";")[0]
        return response.json() if content_type.endswith("json") else response.text

    def _request(self) -> httpx2.Request:
        """The request as the SDK's exceptions carry it (built on the error path only)."""
        return httpx2.Request("POST", self._url)


def _header(headers: list[tuple[str, str]], name: str, default: str) -> str:
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else default


def _header_in(headers: list[tuple[str, str]], names: tuple[str, ...]) -> bool:
    return any(key.lower() in names for key, _ in headers)
