"""Who may see the web app, who may change things through it, and where it may listen.

- ``SNAKEBENCH_WEB_PASSWORD`` set: every path but ``/healthz`` (which platforms probe
  anonymously) needs HTTP basic auth, or ``Authorization: Bearer <SNAKEBENCH_API_TOKEN>``.
- Only ``SNAKEBENCH_API_TOKEN`` set: pages and API reads are public, but the dashboard
  at ``/rq`` (it can cancel, requeue and delete jobs) needs the token, as a bearer
  token or as the basic-auth password (so a browser can log in).
- Writes to the JSON API (any method but GET/HEAD/OPTIONS under ``/api/``) need the
  bearer token whatever else is set; with no token they are disabled (403).
- Neither set: the app refuses to listen beyond loopback (``snakebench web`` and
  gunicorn alike), since nothing would guard the dashboard; and should a server listen
  more widely anyway (gunicorn without our config file), the app answers 403 to every
  request that does not come from this machine.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from flask import Flask, Response, jsonify, request

from snakebench.config import ConfigError
from snakebench.web.config import WebConfig

OPEN_PATHS = frozenset({"/healthz"})
API_PREFIX = "/api/"
DASHBOARD_PREFIX = "/rq"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = "SnakeBench"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 possibly in brackets) is this
    machine only: ``localhost``, 127.0.0.0/8 or ``::1``."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return bool((mapped or address).is_loopback)


def check_bind(host: str, config: WebConfig) -> None:
    """Refuse to listen beyond loopback with nothing guarding the dashboard and the
    writes: neither a password nor an API token (a one-line ConfigError)."""
    if not config.may_serve_publicly and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host} without a password or an API token: "
            "set SNAKEBENCH_WEB_PASSWORD (login for everything) or SNAKEBENCH_API_TOKEN "
            "(public pages, token for /rq and writes), or listen on 127.0.0.1"
        )


def check_binds(binds: Iterable[str], config: WebConfig) -> None:
    """:func:`check_bind` for gunicorn's ``bind`` list (``HOST:PORT``, ``[V6]:PORT``,
    ``unix:PATH``, ``fd://N``). A Unix socket or inherited descriptor counts as
    public: it usually sits behind a proxy that serves the world."""
    for bind in binds:
        check_bind(_bind_host(bind), config)


def _bind_host(bind: str) -> str:
    if bind.startswith(("unix:", "fd://")):
        return bind
    if bind.startswith("["):
        return bind[1:].partition("]")[0]
    return bind.rpartition(":")[0] if ":" in bind else bind


def install_auth(app: Flask, config: WebConfig) -> None:
    """Guard every request as the module says. It is an app-wide hook, not one on
    rq-dashboard's blueprint: that blueprint is a module-level object shared by every
    app, so a hook there would leak across apps."""

    @app.before_request
    def require_credentials() -> Response | None:
        path = request.path
        if path in OPEN_PATHS:
            return None
        if not config.may_serve_publicly and not _from_this_machine():
            # The bind guard again, inside the app: gunicorn started without our config
            # file, or any other server, may listen publicly; the app still serves
            # nobody but this machine while nothing guards the dashboard.
            return (
                json_error(403, _LOCAL_ONLY)
                if path.startswith(API_PREFIX)
                else Response(_LOCAL_ONLY + "\n", 403)
            )
        if is_api_write():
            return _check_write(config)
        guarded = config.auth_required or (config.dashboard_auth_required and _is_dashboard(path))
        if guarded and not _authorized(config):
            return _challenge(path)
        return None


_LOCAL_ONLY = (
    "this server has no password or API token, so it serves this machine only: set "
    "SNAKEBENCH_WEB_PASSWORD or SNAKEBENCH_API_TOKEN"
)


def _from_this_machine() -> bool:
    """The client, and every proxy hop it came through, is this machine."""
    hops = [request.remote_addr or ""]
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        hops += [hop.strip() for hop in forwarded.split(",")]
    return all(is_loopback(hop) for hop in hops)


def is_api_write() -> bool:
    """A request that may change something through the JSON API."""
    return request.path.startswith(API_PREFIX) and request.method not in SAFE_METHODS


def _is_dashboard(path: str) -> bool:
    return path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/")


def _check_write(config: WebConfig) -> Response | None:
    """Writes take the bearer token only: a browser's remembered basic login must not
    be enough to spend money on games."""
    if not config.api_token:
        return json_error(403, "writes are disabled: set SNAKEBENCH_API_TOKEN")
    auth = request.authorization
    if auth is not None and auth.type == "bearer" and _same(auth.token or "", config.api_token):
        return None
    response = json_error(401, "a write needs Authorization: Bearer <SNAKEBENCH_API_TOKEN>")
    response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    return response


def _challenge(path: str) -> Response:
    header = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
    if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
        response = json_error(401, "authentication required")
        response.headers.update(header)
        return response
    return Response("Authentication required\n", 401, header)


def json_error(status: int, message: str) -> Response:
    response = jsonify({"error": {"message": message}})
    response.status_code = status
    return response


def _authorized(config: WebConfig) -> bool:
    """Bearer token; or basic auth with the password, or with the token as password
    when no password is set (the token-only dashboard login)."""
    auth = request.authorization
    if auth is None:
        return False
    if auth.type == "bearer":
        return bool(config.api_token) and _same(auth.token or "", config.api_token or "")
    if auth.type == "basic":
        secret = config.password or config.api_token
        user_ok = _same(auth.username or "", config.username)
        password_ok = bool(secret) and _same(auth.password or "", secret or "")
        return user_ok and password_ok
    return False


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison, so timing does not leak how much of a guess was right."""
    return hmac.compare_digest(given.encode(), expected.encode())
